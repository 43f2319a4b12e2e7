/* Which addresses of an ESP-IDF panic report are decoded (panic.h), and
 * what the real ESP-IDF v4.4 hello_world.elf says about them (elfsym.h;
 * the expected answers are GNU addr2line's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfsym.h"
#include "panic.h"
#include "test.h"

static size_t scan(struct panic_scan *ps, const char *line, uint32_t *a)
{
    return panic_scan_line(ps, line, a, PANIC_LINE_MAX_ADDRS);
}

void test_panic__xtensa_backtrace_takes_the_pcs(void)
{
    struct panic_scan ps = {0};
    uint32_t a[PANIC_LINE_MAX_ADDRS];

    T_EQ_INT(scan(&ps, "Backtrace:0x400d4a49:0x3ffb5e60 0x400d4b1b:0x3ffb5e90 "
                       "0x4008a0c5:0x3ffb5eb0 |<-CORRUPTED", a), 3);
    T_EQ_INT(a[0], 0x400d4a49);
    T_EQ_INT(a[1], 0x400d4b1b);
    T_EQ_INT(a[2], 0x4008a0c5);
    /* with a space after the colon, as ESP-IDF v5 prints it */
    T_EQ_INT(scan(&ps, "Backtrace: 0x400d4a4c:0x3ffb5e60", a), 1);
    T_EQ_INT(a[0], 0x400d4a4c);
}

void test_panic__register_dump_only_inside_a_panic(void)
{
    struct panic_scan ps = {0};
    uint32_t a[PANIC_LINE_MAX_ADDRS];
    const char *pc = "PC      : 0x400d4a4c  PS      : 0x00060830  A0      : "
                     "0x800d4b1e  A1      : 0x3ffb5e60";

    T_EQ_INT(scan(&ps, pc, a), 0);  /* no panic: a line like any other */
    T_EQ_INT(scan(&ps, "Guru Meditation Error: Core  0 panic'ed "
                       "(LoadProhibited). Exception was unhandled.", a), 0);
    T_EQ_INT(scan(&ps, pc, a), 4);
    T_EQ_INT(a[0], 0x400d4a4c);
    T_EQ_INT(scan(&ps, "Rebooting...", a), 0);
    T_EQ_INT(scan(&ps, pc, a), 0);  /* the report is over */
}

void test_panic__riscv_registers_and_stack_dump(void)
{
    struct panic_scan ps = {0};
    uint32_t a[PANIC_LINE_MAX_ADDRS];

    scan(&ps, "Guru Meditation Error: Core  0 panic'ed (Store access fault)."
              " Exception was unhandled.", a);
    T_EQ_INT(scan(&ps, "MEPC    : 0x42007b3e  RA      : 0x42007b2c  SP      :"
                       " 0x3fc93d50  GP      : 0x3fc8ca00", a), 4);
    T_EQ_INT(a[0], 0x42007b3e);
    T_EQ_INT(a[1], 0x42007b2c);
    T_EQ_INT(scan(&ps, "Stack memory:", a), 0);
    T_EQ_INT(scan(&ps, "3fc93d50: 0x00000000 0x42007b2c 0x00000000 "
                       "0x42007b2c", a), 2);   /* each once */
    T_EQ_INT(a[0], 0x00000000);
    T_EQ_INT(a[1], 0x42007b2c);
    /* a longer hex word is not an address */
    T_EQ_INT(scan(&ps, "value 0x1234567890 and x0x12345678", a), 0);
}

static const char *hello_elf(char *buf, size_t len)
{
    const char *sh = t_shared_dir();

    snprintf(buf, len, "%s/firmware/idf-build/esp32-hello-world-v4.4/"
                       "hello_world.elf", sh ? sh : "../shared");
    return buf;
}

void test_panic__elf_lookup_matches_addr2line(void)
{
    char path[512], err[ED_ERRMSG_MAX];
    struct elfsym *s = NULL;
    struct elfsym_loc loc;
    FILE *f = fopen(hello_elf(path, sizeof path), "rb");

    if (!f)
        T_SKIP("shared firmware folder absent (set ESPDECK_SHARED)");
    fclose(f);
    T_EQ_INT(elfsym_open(&s, path, err, sizeof err), ED_OK);
    T_ASSERT(elfsym_has_debug(s));
    /* addr2line -f: app_main at c:\esp\hello_world\build/../main/
     * hello_world_main.c:17 */
    T_ASSERT(elfsym_lookup(s, 0x400d4a4c, &loc));
    T_EQ_STR(loc.func, "app_main");
    T_EQ_STR(loc.file, "c:\\esp\\hello_world\\build/../main/hello_world_main.c");
    T_EQ_INT(loc.line, 17);
    /* xQueueGenericSend at .../freertos/queue.c:986 */
    T_ASSERT(elfsym_lookup(s, 0x40085a0c, &loc));
    T_EQ_STR(loc.func, "xQueueGenericSend");
    T_CONTAINS(loc.file, "components/freertos/queue.c");
    T_EQ_INT(loc.line, 986);
    /* data and stack addresses are not code */
    T_ASSERT(!elfsym_lookup(s, 0x3ffb5e60, &loc));
    T_ASSERT(!elfsym_lookup(s, 0x00000000, &loc));
    elfsym_close(s);
}

void test_panic__elf_open_errors_say_what_to_give(void)
{
    char err[ED_ERRMSG_MAX];
    struct elfsym *s = (struct elfsym *)1;

    T_ASSERT(elfsym_open(&s, "/nonexistent/app.elf", err, sizeof err) != ED_OK);
    T_ASSERT(s == NULL);
    T_CONTAINS(err, "cannot read /nonexistent/app.elf");
    T_ASSERT(elfsym_open(&s, "/etc/hostname", err, sizeof err) != ED_OK);
    T_CONTAINS(err, "not an ELF file");
}
