/*
 * panic.h - which addresses of an ESP-IDF panic report to decode.
 *
 * The monitor feeds every line of the target's output (escape codes taken
 * out); panic_scan_line() returns the code addresses worth looking up in
 * the app's ELF, in the order they stand:
 *   - "Backtrace: 0x400d4a4c:0x3ffb5e60 0x400d...:0x..." (Xtensa): the PC
 *     of each PC:SP pair, on any line;
 *   - inside a panic report (from "Guru Meditation Error", "abort() was
 *     called", "assert failed", "***ERROR*** A stack overflow", "Stack
 *     smashing" until "Rebooting..." or 64 lines): every 0xXXXXXXXX in the
 *     register dumps ("PC      : 0x...", RISC-V "MEPC    : 0x...",
 *     "RA      : 0x...") and the RISC-V "Stack memory:" dump.
 * The caller keeps only those its ELF holds as code (elfsym_is_code), so
 * data values in the dumps fall out.  Pure, no I/O; the state is a value
 * the caller owns (one per monitored board).
 */
#ifndef ED_PANIC_H
#define ED_PANIC_H

#include <stddef.h>
#include <stdint.h>

struct panic_scan {
    int left;           /* lines of the panic report still to come */
};

#define PANIC_LINE_MAX_ADDRS 64

/* Addresses of one line into out (at most max, each once); returns the
 * count. */
size_t panic_scan_line(struct panic_scan *ps, const char *line,
                       uint32_t *out, size_t max);

struct elfsym;

/*
 * Decode one line: for each of its addresses that is code of elf, in
 * order, emit(ctx, "  0x400d4a4c: app_main at DIR/main/app.c:17") (or
 * "  0xADDR: FUNC" without line information).  Returns how many.
 */
size_t panic_decode_line(struct panic_scan *ps, const struct elfsym *elf,
                         const char *line,
                         void (*emit)(void *ctx, const char *text), void *ctx);

#endif
