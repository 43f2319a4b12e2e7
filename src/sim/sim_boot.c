/*
 * sim_boot.c - the simulated boot chain (see sim_boot.h).
 *
 * Reads the flash the way the real chain does and writes what the real one
 * prints: the ROM checks the 2nd-stage bootloader image (magic, segments,
 * checksum, SHA-256 on newer ROMs, chip id), the ESP-IDF bootloader reads
 * the partition table (MD5 row), otadata, and the app image (checksum,
 * SHA-256, chip id and revision), then the app starts and prints what its
 * content says.  Bad flash gives the real error lines and a boot loop.
 *
 * Time: the text of one boot is timed as a chip at 115200 baud would print
 * it (about 87 us per byte, plus flash reads), so the "I (N)" stamps are
 * milliseconds since reset and grow plausibly.
 */
#include "sim/sim_boot.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <md5.h>
#include <sha2.h>

#include "sim/sim_chip.h"
#include "sim/sim_internal.h"

#define BYTE_US 87            /* one byte at 115200 baud, 10 bits */
#define MAX_SEGS 16           /* ESP_IMAGE_MAX_SEGMENTS */
#define PT_OFFSET 0x8000u
#define PT_MAX_LEN 0xC00u
#define APP_DESC_MAGIC 0xABCD5432u
#define BOOT_DESC_MAGIC 0x50
#define HEADER_LOOP_US 300000 /* "invalid header" repeats */
#define RESET_GAP_US 300000   /* pause between two turns of a reset loop */
#define PENDING_MAX 65536     /* text waiting for sim_app_poll(), at most */

/* ---- growing text buffer ---- */

struct sb {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *np;
        while (cap < b->len + n + 1)
            cap *= 2;
        np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_vprintf(struct sb *b, const char *fmt, va_list ap)
{
    char tmp[512];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof tmp)
        n = sizeof tmp - 1;
    sb_add(b, tmp, (size_t)n);
}

static void sb_printf(struct sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

/* ---- little-endian helpers ---- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Copy a fixed-size, maybe unterminated string field. */
static void field(char *out, size_t outlen, const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n && i + 1 < outlen && p[i]; i++)
        out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
    out[i] = '\0';
}

/*
 * CRC-32 (IEEE, reflected) as the ROM's crc32_le(UINT32_MAX, p, n): that
 * call inverts its seed on entry, so the register starts at 0.
 */
static uint32_t crc32_le_ff(const uint8_t *p, size_t n)
{
    uint32_t c = 0;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        c ^= p[i];
        for (k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

/* ---- per-chip facts of the boot chain (not in sim_chip.h) ---- */

static bool old_rom(const struct sim_chip *c)
{
    return !strcmp(c->name, "esp32");
}

static bool multicore(const struct sim_chip *c)
{
    return !strcmp(c->name, "esp32") || !strcmp(c->name, "esp32s3") ||
           !strcmp(c->name, "esp32p4");
}

static unsigned cpu_mhz(const struct sim_chip *c)
{
    static const struct {
        const char *name;
        unsigned mhz;
    } t[] = {{"esp32c2", 120}, {"esp32h2", 96}, {"esp32p4", 360},
             {"esp32c5", 240}};
    size_t i;
    for (i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(c->name, t[i].name))
            return t[i].mhz;
    return 160;
}

static const char *flash_freq(const struct sim_chip *c, unsigned nib)
{
    const char *n = c->name;
    if (!strcmp(n, "esp32c2"))
        return nib == 0 ? "30MHz" : nib == 1 ? "20MHz" : nib == 2 ? "15MHz"
               : nib == 0xF ? "60MHz" : "?";
    if (!strcmp(n, "esp32h2"))
        return nib == 0 ? "24MHz" : nib == 1 ? "16MHz" : nib == 2 ? "12MHz"
               : nib == 0xF ? "48MHz" : "?";
    if (!strcmp(n, "esp32c6"))
        return nib == 0 ? "80MHz" : nib == 2 ? "20MHz" : "?";
    return nib == 0 ? "40MHz" : nib == 1 ? "26MHz" : nib == 2 ? "20MHz"
           : nib == 0xF ? "80MHz" : "?";
}

static const char *flash_mode(unsigned m)
{
    static const char *const names[] = {"QIO", "QOUT", "DIO", "DOUT"};
    return m < 4 ? names[m] : "DIO";
}

static uint32_t flash_bytes(unsigned nib)
{
    return nib <= 7 ? (1u << 20) << nib : 0;
}

/* Flash-mapped (IROM/DROM) address for this chip? */
static bool mapped_addr(const struct sim_chip *c, uint32_t a)
{
    const char *n = c->name;
    if (!strcmp(n, "esp32"))
        return (a >= 0x3F400000u && a < 0x3F800000u) ||
               (a >= 0x400C2000u && a < 0x40C00000u);
    if (!strcmp(n, "esp32s2"))
        return (a >= 0x3F000000u && a < 0x3FF80000u) ||
               (a >= 0x40080000u && a < 0x40800000u);
    if (!strcmp(n, "esp32p4"))
        return a >= 0x40000000u && a < 0x4C000000u;
    return (a >= 0x3C000000u && a < 0x3E000000u) ||
           (a >= 0x42000000u && a < 0x44000000u);
}

/* ---- image parsing ---- */

struct img_seg {
    uint32_t addr, len, off; /* off: data offset from the image start */
};

struct img {
    uint32_t base;           /* flash offset of the image */
    const uint8_t *p;        /* image start */
    size_t avail;            /* bytes readable from p */
    uint8_t mode, size_freq, wp, drv[3];
    uint32_t entry;
    uint16_t chip_id, min_rev, max_rev; /* *_rev: the v5 "full" fields */
    uint8_t min_rev_legacy;  /* byte 14: the only revision a v4.x reads */
    bool hash_appended;
    int nseg;
    struct img_seg seg[MAX_SEGS];
    uint32_t csum_off;       /* offset of the checksum byte */
    uint8_t csum_calc, csum_read;
    uint8_t hash_calc[32];
    const uint8_t *hash_read;
};

enum img_status {
    IMG_OK,
    IMG_MAGIC,      /* not 0xE9 */
    IMG_SEGCOUNT,   /* 0 or more than 16 segments */
    IMG_TRUNC,      /* a segment runs past the end of flash */
    IMG_CHECKSUM,
    IMG_HASH,
};

/* Parse and check an image at p (avail bytes readable); fills im. */
static enum img_status img_parse(struct img *im, const uint8_t *p,
                                 size_t avail, uint32_t base)
{
    uint32_t off;
    uint8_t cs = 0xEF;
    int i;
    size_t k;

    memset(im, 0, sizeof *im);
    im->p = p;
    im->avail = avail;
    im->base = base;
    if (avail < 24 || p[0] != 0xE9)
        return IMG_MAGIC;
    im->nseg = p[1];
    im->mode = p[2];
    im->size_freq = p[3];
    im->entry = le32(p + 4);
    im->wp = p[8];
    memcpy(im->drv, p + 9, 3);
    im->chip_id = le16(p + 12);
    im->min_rev_legacy = p[14];
    im->min_rev = le16(p + 15);
    im->max_rev = le16(p + 17);
    im->hash_appended = p[23] == 1;
    if (im->nseg == 0 || im->nseg > MAX_SEGS)
        return IMG_SEGCOUNT;
    off = 24;
    for (i = 0; i < im->nseg; i++) {
        if ((size_t)off + 8 > avail)
            return IMG_TRUNC;
        im->seg[i].addr = le32(p + off);
        im->seg[i].len = le32(p + off + 4);
        im->seg[i].off = off + 8;
        if (im->seg[i].len > avail - off - 8)
            return IMG_TRUNC;
        for (k = 0; k < im->seg[i].len; k++)
            cs ^= p[off + 8 + k];
        off += 8 + im->seg[i].len;
    }
    im->csum_off = off | 15;
    if ((size_t)im->csum_off + 1 > avail)
        return IMG_TRUNC;
    im->csum_calc = cs;
    im->csum_read = p[im->csum_off];
    if (im->hash_appended) {
        SHA2_CTX ctx;
        if ((size_t)im->csum_off + 33 > avail)
            return IMG_TRUNC;
        SHA256Init(&ctx);
        SHA256Update(&ctx, p, im->csum_off + 1);
        SHA256Final(im->hash_calc, &ctx);
        im->hash_read = p + im->csum_off + 1;
    }
    if (im->csum_calc != im->csum_read)
        return IMG_CHECKSUM;
    if (im->hash_appended && memcmp(im->hash_calc, im->hash_read, 32))
        return IMG_HASH;
    return IMG_OK;
}

/* ---- the app's output ---- */

enum item_kind { ITEM_RAW, ITEM_LOG };

struct item {
    enum item_kind kind;
    char level;          /* 'E', 'W', 'I' for ITEM_LOG */
    char *text;          /* raw text (with line end), or the log body */
    int64_t wait_us;     /* after this item, before the next */
};

struct sim_app {
    struct item *items;
    size_t n, cap;
    size_t pos;          /* next item */
    size_t loop;         /* where to go after the last one */
    bool repeat;         /* false: stop after the last item */
    int64_t next_us;     /* when items[pos] is due; -1 = never */
    int64_t ms0_us;      /* add to app time for "I (N)" stamps */
    struct sb pend;      /* due text not handed out yet */
    size_t pend_off;
    int64_t pend_at;
    /* "@echo": a line editor on the UART's input */
    bool echo;
    bool cr;             /* a CR came last: CR LF, or CR alone */
    char line[200];
    size_t line_len;
};

static struct sim_app *app_new(int64_t start_us, int64_t ms0_us)
{
    struct sim_app *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->next_us = start_us;
    a->ms0_us = ms0_us;
    a->repeat = true;
    return a;
}

static bool app_add(struct sim_app *a, enum item_kind kind, char level,
                    const char *text, size_t len, int64_t wait_us)
{
    struct item *it;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        struct item *ni = realloc(a->items, cap * sizeof *ni);
        if (!ni)
            return false;
        a->items = ni;
        a->cap = cap;
    }
    it = &a->items[a->n];
    it->text = malloc(len + 1);
    if (!it->text)
        return false;
    memcpy(it->text, text, len);
    it->text[len] = '\0';
    it->kind = kind;
    it->level = level;
    it->wait_us = wait_us;
    a->n++;
    return true;
}

void sim_app_free(struct sim_app *app)
{
    size_t i;
    if (!app)
        return;
    for (i = 0; i < app->n; i++)
        free(app->items[i].text);
    free(app->items);
    free(app->pend.p);
    free(app);
}

static const char *log_color(char level)
{
    return level == 'E' ? "\033[0;31m" : level == 'W' ? "\033[0;33m"
                                                      : "\033[0;32m";
}

static void render(struct sim_app *a, const struct item *it, int64_t at_us)
{
    if (it->kind == ITEM_RAW) {
        sb_add(&a->pend, it->text, strlen(it->text));
        return;
    }
    sb_printf(&a->pend, "%s%c (%lld) %s\033[0m\r\n", log_color(it->level),
              it->level, (long long)((at_us + a->ms0_us) / 1000), it->text);
}

size_t sim_app_poll(struct sim_app *app, int64_t now_us, char *buf,
                    size_t cap)
{
    size_t n;

    if (!app)
        return 0;
    while (app->next_us >= 0 && app->next_us <= now_us && app->n > 0 &&
           app->pend.len - app->pend_off < PENDING_MAX) {
        const struct item *it = &app->items[app->pos];
        if (app->pend.len == app->pend_off) {
            app->pend.len = 0;
            app->pend_off = 0;
            app->pend_at = app->next_us;
        }
        render(app, it, app->next_us);
        app->next_us += it->wait_us > 0 ? it->wait_us : 1;
        app->pos++;
        if (app->pos >= app->n) {
            if (app->repeat && app->loop < app->n)
                app->pos = app->loop;
            else
                app->next_us = -1;
        }
    }
    /* Far behind (nobody polled for a long time): skip, do not flood. */
    if (app->next_us >= 0 && app->next_us < now_us - 10 * 1000000LL)
        app->next_us = now_us;
    n = app->pend.len - app->pend_off;
    if (n > cap)
        n = cap;
    if (n) {
        memcpy(buf, app->pend.p + app->pend_off, n);
        app->pend_off += n;
    }
    return n;
}

int64_t sim_app_next_us(const struct sim_app *app)
{
    if (!app)
        return -1;
    if (app->pend.len > app->pend_off)
        return app->pend_at;
    return app->next_us;
}

/* ---- "@echo": what the app answers to input ---- */

bool sim_app_echoes(const struct sim_app *app)
{
    return app && app->echo;
}

/* The line is over: the reply names it and how it ended. */
static size_t echo_line(struct sim_app *a, const char *how, char *out,
                        size_t cap)
{
    int n = snprintf(out, cap, "\r\nrx: \"%.*s\" + %s\r\n",
                     (int)a->line_len, a->line, how);

    a->line_len = 0;
    a->cr = false;
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

size_t sim_app_input(struct sim_app *a, uint8_t b, char *out, size_t cap)
{
    size_t k = 0;

    if (!a || !a->echo || cap < 300)
        return 0;
    if (a->cr) {
        if (b == '\n')
            return echo_line(a, "CR LF", out, cap);
        k = echo_line(a, "CR", out, cap);
    }
    if (b == '\r') {
        a->cr = true;
        return k;
    }
    if (b == '\n')
        return k + echo_line(a, "LF", out + k, cap - k);
    if (b == 0x7f || b == 0x08) {   /* backspace: rub out one */
        if (a->line_len) {
            a->line_len--;
            memcpy(out + k, "\b \b", 3);
            k += 3;
        }
        return k;
    }
    if (a->line_len + 2 > sizeof a->line)
        return k;
    if (b < 0x20) {                 /* a control key, shown as ^X */
        a->line[a->line_len++] = '^';
        a->line[a->line_len++] = (char)(b + '@');
        out[k++] = '^';
        out[k++] = (char)(b + '@');
    } else {
        a->line[a->line_len++] = (char)b;
        out[k++] = (char)b;
    }
    return k;
}

size_t sim_app_input_idle(struct sim_app *a, char *out, size_t cap)
{
    if (!a || !a->cr || cap < 300)
        return 0;
    return echo_line(a, "CR", out, cap);
}

/* ---- the output convention: hello_world, script, nothing ---- */

static bool parse_script(struct sim_app *a, const uint8_t *p, size_t n)
{
    int64_t period = 1000000;
    size_t i = 0;
    bool any = false;

    a->loop = 0;
    a->repeat = true;
    while (i < n) {
        const char *line = (const char *)p + i;
        size_t len = strnlen(line, n - i);
        if (len == 0)
            break;
        i += len + 1;
        if (len > 8 && !strncmp(line, "@period=", 8)) {
            char num[16];
            long ms;
            char *end;
            field(num, sizeof num, (const uint8_t *)line + 8, len - 8);
            ms = strtol(num, &end, 10);
            if (*end == '\0' && ms >= 1 && ms <= 3600000)
                period = ms * 1000;
            if (a->n > 0)
                a->items[a->n - 1].wait_us = period;
            continue;
        }
        if (len == 5 && !strncmp(line, "@echo", 5)) {
            a->echo = true;
            continue;
        }
        if (len == 5 && !strncmp(line, "@loop", 5)) {
            a->loop = a->n;
            continue;
        }
        if (len == 5 && !strncmp(line, "@stop", 5)) {
            a->repeat = false;
            break;
        }
        if (len >= 3 && (line[0] == 'E' || line[0] == 'W' || line[0] == 'I')
            && line[1] == ' ' && line[2] == '(') {
            const char *close = memchr(line, ')', len);
            const char *body = close ? close + 1 : line + 3;
            size_t blen = len - (size_t)(body - line);
            if (blen && *body == ' ') {
                body++;
                blen--;
            }
            if (!app_add(a, ITEM_LOG, line[0], body, blen, period))
                return false;
        } else {
            char tmp[1024];
            size_t l = len < sizeof tmp - 3 ? len : sizeof tmp - 3;
            memcpy(tmp, line, l);
            memcpy(tmp + l, "\r\n", 3);
            if (!app_add(a, ITEM_RAW, 0, tmp, l + 2, period))
                return false;
        }
        any = true;
    }
    if (!any)
        a->next_us = -1;
    return true;
}

/* Find the script magic in a segment: returns the lines after it. */
static const uint8_t *find_script(const uint8_t *p, size_t n, size_t *left)
{
    size_t i;
    if (n < SIM_SCRIPT_MAGIC_LEN)
        return NULL;
    for (i = 0; i + SIM_SCRIPT_MAGIC_LEN <= n; i++) {
        if (p[i] == 'E' &&
            !memcmp(p + i, SIM_SCRIPT_MAGIC, SIM_SCRIPT_MAGIC_LEN)) {
            *left = n - i - SIM_SCRIPT_MAGIC_LEN;
            return p + i + SIM_SCRIPT_MAGIC_LEN;
        }
    }
    return NULL;
}

struct app_desc {
    bool found;
    char version[33], project[33], time[17], date[17], idf[33];
    uint8_t elf_sha[32];
};

static void parse_desc(struct app_desc *d, const uint8_t *p, size_t n)
{
    memset(d, 0, sizeof *d);
    if (n < 256 || le32(p) != APP_DESC_MAGIC)
        return;
    d->found = true;
    field(d->version, sizeof d->version, p + 16, 32);
    field(d->project, sizeof d->project, p + 48, 32);
    field(d->time, sizeof d->time, p + 80, 16);
    field(d->date, sizeof d->date, p + 96, 16);
    field(d->idf, sizeof d->idf, p + 112, 32);
    memcpy(d->elf_sha, p + 144, 32);
}

/*
 * Build the running app for segments (ptr, len pairs): the script if one
 * is there, hello_world, or nothing.  start_us: first line; ms0_us: offset
 * of the app clock from reset.  Returns NULL only when out of memory; an
 * app that prints nothing more gets next_us = -1.
 */
static struct sim_app *make_app(const struct app_desc *d,
                                const uint8_t *const *segp,
                                const size_t *segn, int nseg,
                                int64_t start_us, int64_t ms0_us)
{
    struct sim_app *a = app_new(start_us, ms0_us);
    int i;

    if (!a)
        return NULL;
    for (i = 0; i < nseg; i++) {
        size_t left;
        const uint8_t *s = find_script(segp[i], segn[i], &left);
        if (s) {
            if (!parse_script(a, s, left)) {
                sim_app_free(a);
                return NULL;
            }
            return a;
        }
    }
    if (d->found && !strcmp(d->project, "hello_world")) {
        if (!app_add(a, ITEM_RAW, 0, "Hello world!\r\n", 14, 1000000)) {
            sim_app_free(a);
            return NULL;
        }
        return a;
    }
    a->next_us = -1;
    return a;
}

/* ---- the boot text, timed ---- */

struct boot {
    const struct sim_chip *chip;
    const uint8_t *flash;
    size_t flash_size;
    struct sb out;
    int64_t us;          /* chip time since reset */
    bool legacy_bl;      /* the 2nd stage is ESP-IDF v4.x (see below) */
};

static void emit(struct boot *b, const char *s, size_t n)
{
    sb_add(&b->out, s, n);
    b->us += (int64_t)n * BYTE_US;
}

static void emitf(struct boot *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void emitf(struct boot *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    emit(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* One ESP-IDF log line: "\033[0;32mI (N) tag: msg\033[0m\r\n". */
static void blog(struct boot *b, char level, const char *tag,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void blog(struct boot *b, char level, const char *tag,
                 const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    b->us += 150; /* formatting, a little work */
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emitf(b, "%s%c (%lld) %s: %s\033[0m\r\n", log_color(level), level,
          (long long)(b->us / 1000), tag, msg);
}

/* Flash read/verify time: about 10 MB/s through the cache. */
static void work(struct boot *b, size_t bytes)
{
    b->us += (int64_t)bytes / 10;
}

/* ROM banner for a flash boot up to and including the boot: line. */
static void rom_banner(struct boot *b, const char *rst)
{
    const struct sim_chip *c = b->chip;
    emit(b, c->rom_header, strlen(c->rom_header));
    emit(b, rst, strlen(rst));
    emit(b, c->boot_flash, strlen(c->boot_flash));
}

static const char *rst_sw(const struct sim_chip *c)
{
    return old_rom(c) ? "rst:0x3 (SW_RESET)" : "rst:0x3 (RTC_SW_SYS_RST)";
}

static const char *rst_wdt(const struct sim_chip *c)
{
    return old_rom(c) ? "rst:0x10 (RTCWDT_RTC_RESET)"
                      : "rst:0x7 (TG0WDT_SYS_RST)";
}

/* Flash configuration lines the ROM prints from the bootloader header. */
static void rom_flash_lines(struct boot *b, const struct img *im)
{
    unsigned fnib = im->size_freq & 0xF;
    unsigned div = fnib == 0xF ? 1 : fnib == 0 ? 2 : fnib == 1 ? 3 : 4;
    if (strstr(b->chip->boot_flash, "SPIWP"))
        return; /* the chip table already carries them */
    if (old_rom(b->chip)) {
        emitf(b, "configsip: 0, SPIWP:0x%02x\r\n", im->wp);
        emitf(b, "clk_drv:0x%02x,q_drv:0x%02x,d_drv:0x%02x,cs0_drv:0x%02x,"
                 "hd_drv:0x%02x,wp_drv:0x%02x\r\n",
              im->drv[0] & 0xF, im->drv[0] >> 4, im->drv[1] & 0xF,
              im->drv[1] >> 4, im->drv[2] & 0xF, im->drv[2] >> 4);
    } else {
        emitf(b, "SPIWP:0x%02x\r\n", im->wp);
    }
    emitf(b, "mode:%s, clock div:%u\r\n", flash_mode(im->mode), div);
}

/* The ROM's load lines for the bootloader's segments. */
static void rom_load_lines(struct boot *b, const struct img *im)
{
    int i;
    for (i = 0; i < im->nseg; i++) {
        const struct img_seg *s = &im->seg[i];
        if (old_rom(b->chip))
            emitf(b, "load:0x%08x,len:%u\r\n", s->addr, s->len);
        else
            emitf(b, "load:0x%08x,len:0x%x\r\n", s->addr, s->len);
        work(b, s->len);
        /* The ESP32 ROM reports a segment too short to hold the next
         * header in its read buffer. */
        if (old_rom(b->chip) && s->len < 8 && i + 1 < im->nseg)
            emitf(b, "ho 8 tail %u room %u\r\n", s->len, s->len);
    }
    emitf(b, "entry 0x%08x\r\n", im->entry);
}

/* ---- partition table ---- */

struct part {
    uint8_t type, subtype;
    uint32_t offset, size;
    char label[17];
};

#define PT_MAX 96

struct ptable {
    struct part p[PT_MAX];
    int n;
};

static const char *part_usage(const struct part *p)
{
    if (p->type == 0x00) {
        if (p->subtype == 0x00)
            return "factory app";
        if (p->subtype == 0x20)
            return "test app";
        if (p->subtype >= 0x10 && p->subtype <= 0x1F)
            return "OTA app";
        return "Unknown app";
    }
    if (p->type == 0x01) {
        switch (p->subtype) {
        case 0x00: return "OTA data";
        case 0x01: return "RF data";
        case 0x02: return "WiFi data";
        case 0x04: return "NVS keys";
        case 0x05: return "efuse";
        default: return "Unknown data";
        }
    }
    return "unknown";
}

/* esp_partition_table_verify + listing; false = the bootloader gives up. */
static bool load_ptable(struct boot *b, struct ptable *pt,
                        uint32_t chip_size)
{
    const uint8_t *t;
    bool md5_found = false;
    int i, rows;
    MD5_CTX md5;

    pt->n = 0;
    blog(b, 'I', "boot", "Partition Table:");
    blog(b, 'I', "boot",
         "## Label            Usage          Type ST Offset   Length");
    if (b->flash_size < PT_OFFSET + PT_MAX_LEN) {
        blog(b, 'E', "boot", "bootloader_mmap(0x%x, 0x%x) failed",
             PT_OFFSET, PT_MAX_LEN);
        return false;
    }
    t = b->flash + PT_OFFSET;
    work(b, PT_MAX_LEN);
    MD5Init(&md5);
    for (rows = 0; rows < (int)(PT_MAX_LEN / 32); rows++) {
        const uint8_t *r = t + rows * 32;
        uint16_t magic = le16(r);
        if (magic == 0x50AA) {
            struct part *p;
            if (md5_found || pt->n >= PT_MAX)
                break;
            p = &pt->p[pt->n++];
            p->type = r[2];
            p->subtype = r[3];
            p->offset = le32(r + 4);
            p->size = le32(r + 8);
            field(p->label, sizeof p->label, r + 12, 16);
            if ((uint64_t)p->offset + p->size > chip_size) {
                blog(b, 'E', "flash_parts",
                     "partition %d invalid - offset 0x%x size 0x%x exceeds "
                     "flash chip size 0x%x",
                     rows, p->offset, p->size, chip_size);
                goto bad;
            }
            MD5Update(&md5, r, 32);
        } else if (magic == 0xEBEB) {
            uint8_t sum[16];
            if (md5_found) {
                blog(b, 'E', "flash_parts",
                     "Only one MD5 checksum is allowed");
                goto bad;
            }
            MD5Final(sum, &md5);
            if (memcmp(sum, r + 16, 16)) {
                blog(b, 'E', "flash_parts", "Incorrect MD5 checksum");
                goto bad;
            }
            md5_found = true;
        } else if (magic == 0xFFFF && r[2] == 0xFF && r[3] == 0xFF) {
            break;
        } else {
            blog(b, 'E', "flash_parts",
                 "partition %d invalid magic number 0x%x", rows, magic);
            goto bad;
        }
    }
    if (rows >= (int)(PT_MAX_LEN / 32)) {
        blog(b, 'E', "flash_parts",
             "partition table has no terminating entry, not valid");
        goto bad;
    }
    for (i = 0; i < pt->n; i++) {
        const struct part *p = &pt->p[i];
        blog(b, 'I', "boot", "%2d %-16s %-16s %02x %02x %08x %08x", i,
             p->label, part_usage(p), p->type, p->subtype, p->offset,
             p->size);
    }
    blog(b, 'I', "boot", "End of partition table");
    return true;
bad:
    blog(b, 'E', "boot", "Failed to verify partition table");
    blog(b, 'E', "boot", "load partition table error!");
    return false;
}

/* ---- otadata ---- */

/* -1: use factory; otherwise the OTA slot index; -2: give up. */
static int choose_slot(struct boot *b, const struct ptable *pt,
                       bool has_factory, int ota_count)
{
    const struct part *od = NULL;
    const uint8_t *e[2];
    bool valid[2];
    int i, best = -1;

    for (i = 0; i < pt->n; i++)
        if (pt->p[i].type == 0x01 && pt->p[i].subtype == 0x00)
            od = &pt->p[i];
    if (!od)
        return -1;
    if (od->size < 0x2000) {
        blog(b, 'E', "boot",
             "ota_info partition size %u is too small (minimum %d bytes)",
             od->size, 0x2000);
        return -2;
    }
    if ((uint64_t)od->offset + 0x2000 > b->flash_size) {
        blog(b, 'E', "boot", "bootloader_mmap(0x%x, 0x%x) failed",
             od->offset, 0x2000);
        return -2;
    }
    work(b, 0x2000);
    for (i = 0; i < 2; i++) {
        uint32_t seq, state;
        e[i] = b->flash + od->offset + (uint32_t)i * 0x1000;
        seq = le32(e[i]);
        state = le32(e[i] + 24);
        valid[i] = seq != 0xFFFFFFFFu &&
                   le32(e[i] + 28) == crc32_le_ff(e[i], 4) && state != 3 &&
                   state != 4;
    }
    if ((!valid[0] && !valid[1] &&
         le32(e[0]) == 0xFFFFFFFFu && le32(e[1]) == 0xFFFFFFFFu) ||
        ota_count == 0) {
        if (has_factory) {
            blog(b, 'I', "boot", "Defaulting to factory image");
            return -1;
        }
        blog(b, 'I', "boot", "No factory image, trying OTA 0");
        return 0;
    }
    for (i = 0; i < 2; i++)
        if (valid[i] && (best < 0 || le32(e[i]) > le32(e[best])))
            best = i;
    if (best >= 0)
        return (int)((le32(e[best]) - 1) % (uint32_t)ota_count);
    if (has_factory) {
        blog(b, 'E', "boot",
             "ota data partition invalid, falling back to factory");
        return -1;
    }
    blog(b, 'E', "boot",
         "ota data partition invalid and no factory, will try all "
         "partitions");
    return -1;
}

/* ---- loading the app ---- */

static void rev_str(char *out, size_t n, unsigned rev)
{
    snprintf(out, n, "v%u.%u", rev / 100, rev % 100);
}

/*
 * ESP-IDF v5 bootloader_common_check_chip_revision_validity(): a
 * max_chip_rev_full of 0 or 0xFFFF is "not set" (IS_FIELD_SET), as in
 * images built before the field existed (v4.x left bytes 15..22 reserved,
 * zero).
 */
static bool rev_field_set(unsigned rev_full)
{
    return rev_full != 0xFFFF && rev_full != 0;
}

/*
 * The revision number a v4.x bootloader compares with header byte 14: the
 * major wafer version on the ESP32, S2, C2 and H2, the minor elsewhere
 * (ESP-IDF 4.4 bootloader_common_get_chip_revision / efuse_hal).
 */
static unsigned legacy_rev(const struct sim_chip *c)
{
    if (!strcmp(c->name, "esp32") || !strcmp(c->name, "esp32s2") ||
        !strcmp(c->name, "esp32c2") || !strcmp(c->name, "esp32h2"))
        return c->revision / 100;
    return c->revision % 100;
}

/* esp_image_load of the app at p; true when it may start. */
static bool load_app(struct boot *b, const struct part *p, struct img *im)
{
    enum img_status st;
    size_t avail;
    int i;

    if (p->offset >= b->flash_size) {
        blog(b, 'E', "esp_image",
             "image at 0x%x has invalid magic byte (nothing flashed here?)",
             p->offset);
        return false;
    }
    avail = b->flash_size - p->offset;
    if (avail > p->size)
        avail = p->size;
    st = img_parse(im, b->flash + p->offset, avail, p->offset);
    if (st == IMG_MAGIC) {
        blog(b, 'E', "esp_image",
             "image at 0x%x has invalid magic byte (nothing flashed here?)",
             p->offset);
        return false;
    }
    if (st == IMG_SEGCOUNT) {
        blog(b, 'E', "esp_image",
             "image at 0x%x segment count %d exceeds max %d", p->offset,
             im->nseg, MAX_SEGS);
        return false;
    }
    if (im->chip_id != b->chip->chip_id) {
        blog(b, 'E', "boot_comm", "mismatch chip ID, expected %u, found %u",
             b->chip->chip_id, im->chip_id);
        return false;
    }
    if (b->legacy_bl) {
        /* v4.x bootloader_common_check_chip_validity(): byte 14 against
         * the old single revision number, no upper limit at all */
        unsigned rev = legacy_rev(b->chip);

        if (rev < im->min_rev_legacy) {
            blog(b, 'E', "boot_comm", "This chip is revision %u but the "
                 "application is configured for minimum revision %u. "
                 "Can't run.", rev, im->min_rev_legacy);
            return false;
        }
        if (rev != im->min_rev_legacy)
            blog(b, 'I', "boot_comm", "chip revision: %u, min. application "
                 "chip revision: %u", rev, im->min_rev_legacy);
    } else if (b->chip->revision < im->min_rev ||
               (rev_field_set(im->max_rev) &&
                b->chip->revision > im->max_rev)) {
        char want[16], have[16];
        bool low = b->chip->revision < im->min_rev;
        rev_str(want, sizeof want, low ? im->min_rev : im->max_rev);
        rev_str(have, sizeof have, b->chip->revision);
        blog(b, 'E', "boot_comm", "Image requires chip rev %s %s, but chip "
             "is %s", low ? ">=" : "<=", want, have);
        return false;
    }
    for (i = 0; i < im->nseg; i++) {
        const struct img_seg *s = &im->seg[i];
        const char *how = s->addr == 0 ? ""
                          : mapped_addr(b->chip, s->addr) ? "map"
                                                          : "load";
        work(b, s->len);
        blog(b, 'I', "esp_image",
             "segment %d: paddr=%08x vaddr=%08x size=%05xh (%6u) %s", i,
             p->offset + s->off, s->addr, s->len, s->len, how);
    }
    if (st == IMG_TRUNC) {
        blog(b, 'E', "esp_image",
             "Image length %u doesn't fit in partition length %u",
             (unsigned)(im->csum_off + 1 + (im->hash_appended ? 32 : 0)),
             p->size);
        return false;
    }
    if (st == IMG_CHECKSUM) {
        blog(b, 'E', "esp_image", "Checksum failed. Calculated 0x%x read "
             "0x%x", im->csum_calc, im->csum_read);
        return false;
    }
    if (st == IMG_HASH) {
        blog(b, 'E', "esp_image", "Image hash failed - image is corrupt");
        return false;
    }
    return true;
}

static void app_desc_of(struct app_desc *d, const struct img *im)
{
    int i;
    memset(d, 0, sizeof *d);
    for (i = 0; i < im->nseg && !d->found; i++)
        parse_desc(d, im->p + im->seg[i].off, im->seg[i].len);
}

/* The app's start log (ESP-IDF cpu_start / app_init / main_task). */
static void app_start_log(struct boot *b, const struct app_desc *d,
                          unsigned min_rev, unsigned max_rev)
{
    const struct sim_chip *c = b->chip;
    char r1[16], r2[16], r3[16], sha[17];
    /* an ESP-IDF v4.x app logs its descriptor under cpu_start and has no
     * efuse_init or main_task lines */
    bool v4 = d->found && !strncmp(d->idf, "v4.", 3);
    const char *tag = v4 ? "cpu_start" : "app_init";
    int i;

    b->us += 12000; /* cache, heap and clock setup */
    blog(b, 'I', "cpu_start", "%s app", multicore(c) ? "Multicore"
                                                       : "Unicore");
    blog(b, 'I', "cpu_start", "Pro cpu start user code");
    blog(b, 'I', "cpu_start", "cpu freq: %u Hz", cpu_mhz(c) * 1000000u);
    if (d->found) {
        blog(b, 'I', tag, "Application information:");
        blog(b, 'I', tag, "Project name:     %s", d->project);
        blog(b, 'I', tag, "App version:      %s", d->version);
        blog(b, 'I', tag, "Compile time:     %s %s", d->date, d->time);
        for (i = 0; i < 8; i++)
            snprintf(sha + 2 * i, 3, "%02x", d->elf_sha[i]);
        blog(b, 'I', tag, "ELF file SHA256:  %s...", sha);
        blog(b, 'I', tag, "ESP-IDF:          %s", d->idf);
    }
    if (v4) {
        b->us += 20000;
        blog(b, 'I', "cpu_start", "Starting scheduler on PRO CPU.");
        return;
    }
    rev_str(r1, sizeof r1, min_rev);
    rev_str(r2, sizeof r2, rev_field_set(max_rev) ? max_rev : 9999);
    rev_str(r3, sizeof r3, c->revision);
    blog(b, 'I', "efuse_init", "Min chip rev:     %s", r1);
    blog(b, 'I', "efuse_init", "Max chip rev:     %s", r2);
    blog(b, 'I', "efuse_init", "Chip rev:         %s", r3);
    b->us += 20000;
    blog(b, 'I', "main_task", "Started on CPU0");
    blog(b, 'I', "main_task", "Calling app_main()");
}

/* Running app for a verified flash image. */
static struct sim_app *app_for_image(struct boot *b, const struct img *im,
                                     const struct app_desc *d)
{
    const uint8_t *segp[MAX_SEGS];
    size_t segn[MAX_SEGS];
    int i;
    for (i = 0; i < im->nseg; i++) {
        segp[i] = im->p + im->seg[i].off;
        segn[i] = im->seg[i].len;
    }
    return make_app(d, segp, segn, im->nseg, b->us + 1000, 0);
}

/* A loop printing text every period_us, starting at start_us. */
static struct sim_app *loop_app(const char *text, size_t len,
                                int64_t start_us, int64_t period_us)
{
    struct sim_app *a = app_new(start_us, 0);
    if (!a)
        return NULL;
    if (!app_add(a, ITEM_RAW, 0, text, len, period_us)) {
        sim_app_free(a);
        return NULL;
    }
    return a;
}

/*
 * One boot from reset with the given reset line.  Returns true when an app
 * runs (*app set); false when the chain failed: *loop_kind 1 = the ROM
 * repeats "invalid header" (*hdr the word it read), 2 = the bootloader
 * resets the chip (software reset), 3 = the ROM or a crash stops and the
 * RTC watchdog resets the chip; 2 and 3 repeat the whole boot.
 */
static bool boot_once(struct boot *b, const char *rst, struct sim_app **app,
                      int *loop_kind, uint32_t *hdr)
{
    const struct sim_chip *c = b->chip;
    struct img bl, im;
    enum img_status st;
    struct ptable *pt = NULL;
    struct app_desc d;
    uint32_t off = c->bootloader_offset;
    size_t avail = off < b->flash_size ? b->flash_size - off : 0;
    bool has_factory = false, ok = false;
    int ota_count = 0, slot, i;
    const struct part *ota[16] = {0}, *factory = NULL, *test = NULL;
    const struct part *tried = NULL;
    char bdver[33] = "", bdtime[25] = "";

    *app = NULL;
    *loop_kind = 2;
    b->us += 1000;
    rom_banner(b, rst);
    st = img_parse(&bl, avail ? b->flash + off : NULL, avail, off);
    if (st == IMG_MAGIC || st == IMG_SEGCOUNT) {
        *hdr = avail >= 4 ? le32(b->flash + off) : 0xFFFFFFFFu;
        *loop_kind = 1;
        emitf(b, "invalid header: 0x%08x\r\n", *hdr);
        return false;
    }
    rom_flash_lines(b, &bl);
    if (st == IMG_TRUNC) {
        emitf(b, "flash read err, %x\r\n", off);
        emitf(b, "ets_main.c 371 \r\n");
        *loop_kind = 3; /* the ROM stops; the RTC watchdog resets */
        return false;
    }
    if (!old_rom(c) && bl.chip_id != c->chip_id) {
        emitf(b, "Invalid chip id. Expected %u read %u. Bootloader for wrong "
                 "chip?\r\n", c->chip_id, bl.chip_id);
        emitf(b, "ets_main.c 333 \r\n");
        *loop_kind = 3;
        return false;
    }
    rom_load_lines(b, &bl);
    if (st == IMG_CHECKSUM) {
        emitf(b, "checksum failure. Calculated 0x%02x stored 0x%02x\r\n",
              bl.csum_calc, bl.csum_read);
        emitf(b, "ets_main.c 371 \r\n");
        *loop_kind = 3;
        return false;
    }
    if (st == IMG_HASH) {
        if (old_rom(c)) {
            st = IMG_OK; /* the ESP32 ROM does not check the digest */
        } else {
            emitf(b, "SHA-256 comparison failed:\r\nCalculated: ");
            for (i = 0; i < 32; i++)
                emitf(b, "%02x", bl.hash_calc[i]);
            emitf(b, "\r\nExpected: ");
            for (i = 0; i < 32; i++)
                emitf(b, "%02x", bl.hash_read[i]);
            emitf(b, "\r\nAttempting to boot anyway...\r\n");
        }
    }
    if (old_rom(c) && bl.chip_id != c->chip_id) {
        /* Code for another chip: it crashes, the RTC watchdog resets. */
        *loop_kind = 3;
        return false;
    }

    /* 2nd stage bootloader. */
    b->us += 3000;
    if (bl.seg[0].len >= 80 && bl.p[bl.seg[0].off] == BOOT_DESC_MAGIC) {
        const uint8_t *bd = bl.p + bl.seg[0].off;
        field(bdver, sizeof bdver, bd + 8, 32);
        field(bdtime, sizeof bdtime, bd + 40, 24);
    }
    /* A v5 build always writes max_chip_rev_full (Kconfig's
     * ESP_REV_MAX_FULL) into the bootloader's own header; a v4.x build has
     * reserved zero bytes there and no bootloader descriptor.  That
     * bootloader checks an app's revision the v4 way (load_app). */
    b->legacy_bl = bl.max_rev == 0 && !bdver[0];
    if (bdver[0])
        blog(b, 'I', "boot", "ESP-IDF %s 2nd stage bootloader", bdver);
    else
        blog(b, 'I', "boot", "ESP-IDF 2nd stage bootloader");
    if (bdtime[0])
        blog(b, 'I', "boot", "compile time %s", bdtime);
    if (multicore(c))
        blog(b, 'I', "boot", "Multicore bootloader");
    {
        char rv[16];
        if (b->legacy_bl)
            snprintf(rv, sizeof rv, "%u", legacy_rev(c));
        else
            rev_str(rv, sizeof rv, c->revision);
        blog(b, 'I', "boot", "chip revision: %s", rv);
    }
    {
        char tag[32];
        unsigned snib = bl.size_freq >> 4;
        uint32_t fb = flash_bytes(snib);
        snprintf(tag, sizeof tag, "boot.%s", c->name);
        blog(b, 'I', tag, "SPI Speed      : %s",
             flash_freq(c, bl.size_freq & 0xF));
        blog(b, 'I', tag, "SPI Mode       : %s", flash_mode(bl.mode));
        if (fb)
            blog(b, 'I', tag, "SPI Flash Size : %uMB", fb >> 20);
        else
            blog(b, 'I', tag, "SPI Flash Size : unknown");
    }
    blog(b, 'I', "boot", "Enabling RNG early entropy source...");

    pt = malloc(sizeof *pt);
    if (!pt) {
        b->out.oom = true;
        return false;
    }
    {
        uint32_t chip_size = flash_bytes(bl.size_freq >> 4);
        if (!chip_size)
            chip_size = (uint32_t)b->flash_size;
        if (!load_ptable(b, pt, chip_size))
            goto out;
    }
    for (i = 0; i < pt->n; i++) {
        const struct part *p = &pt->p[i];
        if (p->type != 0)
            continue;
        if (p->subtype == 0x00 && !factory)
            factory = p;
        else if (p->subtype == 0x20 && !test)
            test = p;
        else if (p->subtype >= 0x10 && p->subtype <= 0x1F &&
                 !ota[p->subtype - 0x10]) {
            ota[p->subtype - 0x10] = p;
            ota_count++;
        }
    }
    has_factory = factory != NULL;
    slot = choose_slot(b, pt, has_factory, ota_count);
    if (slot == -2)
        goto out;
    /* Work back from the chosen slot to the factory app, then forwards
     * through the OTA slots, then the test app (bootloader_utility.c). */
    {
        const struct part *order[20];
        int no = 0, start = slot, k;
        const char *why[20];
        char whybuf[20][64];
        if (slot >= 0) {
            int idx = 0;
            /* slot counts OTA partitions in table order of subtype */
            for (k = 0; k < 16; k++)
                if (ota[k] && idx++ == slot)
                    start = k;
        }
        for (k = start; k >= -1; k--) {
            const struct part *p = k < 0 ? factory : ota[k];
            if (!p)
                continue;
            order[no] = p;
            if (k < 0)
                snprintf(whybuf[no], sizeof whybuf[no],
                         "Factory app partition is not bootable");
            else
                snprintf(whybuf[no], sizeof whybuf[no],
                         "OTA app partition slot %d is not bootable", k);
            why[no] = whybuf[no];
            no++;
        }
        for (k = start + 1; k < 16; k++) {
            if (!ota[k])
                continue;
            order[no] = ota[k];
            snprintf(whybuf[no], sizeof whybuf[no],
                     "OTA app partition slot %d is not bootable", k);
            why[no] = whybuf[no];
            no++;
        }
        for (k = 0; k < no; k++) {
            work(b, 24);
            if (load_app(b, order[k], &im)) {
                tried = order[k];
                break;
            }
            blog(b, 'E', "boot", "%s", why[k]);
        }
        if (!tried && test) {
            if (load_app(b, test, &im)) {
                blog(b, 'W', "boot",
                     "Falling back to test app as only bootable partition");
                tried = test;
            }
        }
    }
    if (!tried) {
        blog(b, 'E', "boot",
             "No bootable app partitions in the partition table");
        goto out;
    }
    blog(b, 'I', "boot", "Loaded app from partition at offset 0x%x",
         tried->offset);
    blog(b, 'I', "boot", "Disabling RNG early entropy source...");
    app_desc_of(&d, &im);
    app_start_log(b, &d, im.min_rev, im.max_rev);
    *app = app_for_image(b, &im, &d);
    if (!*app)
        b->out.oom = true;
    ok = *app != NULL;
out:
    free(pt);
    return ok;
}

char *sim_boot_flash(const struct sim_chip *chip, const uint8_t *flash,
                     size_t flash_size, size_t *len, struct sim_app **app)
{
    struct boot b;
    int kind = 0;
    uint32_t hdr = 0;

    *app = NULL;
    *len = 0;
    memset(&b, 0, sizeof b);
    b.chip = chip;
    b.flash = flash;
    b.flash_size = flash ? flash_size : 0;
    if (!boot_once(&b, chip->rst_poweron, app, &kind, &hdr) && !b.out.oom) {
        if (kind == 1) {
            char line[40];
            int n = snprintf(line, sizeof line, "invalid header: 0x%08x\r\n",
                             hdr);
            *app = loop_app(line, (size_t)n, b.us + HEADER_LOOP_US,
                            HEADER_LOOP_US);
        } else {
            /* The bootloader (or the ROM, or a watchdog) resets the chip:
             * the same boot again, with the reset reason of a restart. */
            struct boot again;
            struct sim_app *none = NULL;
            int k2;
            memset(&again, 0, sizeof again);
            again.chip = chip;
            again.flash = b.flash;
            again.flash_size = b.flash_size;
            boot_once(&again, kind == 3 ? rst_wdt(chip) : rst_sw(chip),
                      &none, &k2, &hdr);
            sim_app_free(none);
            if (!again.out.oom && again.out.len)
                *app = loop_app(again.out.p, again.out.len,
                                b.us + RESET_GAP_US,
                                again.us + RESET_GAP_US);
            free(again.out.p);
        }
        if (!*app)
            b.out.oom = true;
    }
    if (b.out.oom) {
        sim_app_free(*app);
        *app = NULL;
        free(b.out.p);
        return NULL;
    }
    *len = b.out.len;
    return b.out.p;
}

bool sim_boot_ram(const struct sim_chip *chip,
                  const struct sim_ram_segment *segs, size_t n,
                  uint32_t entry, char **text, size_t *len,
                  struct sim_app **app)
{
    struct app_desc d;
    struct boot b;
    const uint8_t *segp[MAX_SEGS];
    size_t segn[MAX_SEGS];
    size_t i;
    int ns = 0;

    (void)entry;
    *text = NULL;
    *len = 0;
    *app = NULL;
    memset(&d, 0, sizeof d);
    for (i = 0; i < n && !d.found; i++)
        if (segs[i].data)
            parse_desc(&d, segs[i].data, segs[i].len);
    if (!d.found)
        return false;
    for (i = 0; i < n && ns < MAX_SEGS; i++) {
        if (!segs[i].data)
            continue;
        segp[ns] = segs[i].data;
        segn[ns] = segs[i].len;
        ns++;
    }
    memset(&b, 0, sizeof b);
    b.chip = chip;
    b.us = 2000;
    app_start_log(&b, &d, 0, 0xFFFF);
    *app = make_app(&d, segp, segn, ns, b.us + 1000, 0);
    if (!*app || b.out.oom) {
        sim_app_free(*app);
        *app = NULL;
        free(b.out.p);
        return true;
    }
    *text = b.out.p;
    *len = b.out.len;
    return true;
}
