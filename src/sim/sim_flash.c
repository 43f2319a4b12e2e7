/*
 * sim_flash.c - the simulated NOR flash: contents, file backing, timings,
 * and the zlib inflater used by FLASH_DEFL_DATA.
 *
 * NOR semantics: erase sets 4 KiB sectors to 0xFF; programming can only
 * clear bits (new = old & data), so a write without an erase reads back
 * wrong, as on a real chip.
 *
 * Timings are the typical values of the GigaDevice GD25Q32C datasheet
 * (4 MiB SPI NOR, the part whose JEDEC id c8 40 16 the simulator reports):
 *   4 KiB sector erase 45 ms, 64 KiB block erase 150 ms, 256-byte page
 *   program 0.4 ms, chip erase about 10 s for 4 MiB (scaled by size).
 * MD5 over flash runs at 4 MB/s (SPI read plus the MD5 routine of the
 * stub or ROM on a 160 MHz core), so benchmarks measure something real.
 */
#include <errno.h>
#include <fcntl.h>
#include <md5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "err.h"
#include "sim/sim_internal.h"

#define SECTOR 4096u
#define BLOCK64 65536u

#define SECTOR_ERASE_US 45000
#define BLOCK_ERASE_US 150000
#define PAGE_PROGRAM_US 400
#define CHIP_ERASE_US_PER_4MIB 10000000
#define MD5_BYTES_PER_S 4000000

struct sim_inflater {
    z_stream z;
    bool ended;
    uint8_t *hold;      /* a stub's 32 KiB output buffer, or NULL */
    size_t held;        /* bytes in it, not written yet */
};

static int read_all(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -1 : (int)got;
        got += (size_t)n;
    }
    return (int)got;
}

int sim_flash_load(struct sim *s, char *err, size_t errlen)
{
    int fd;
    struct stat st;

    memset(s->flash, 0xFF, s->flash_size);
    if (!s->flash_file)
        return ED_OK;
    fd = open(s->flash_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            s->flash_dirty = true; /* create it on save */
            return ED_OK;
        }
        return ed_seterr(err, errlen, ED_ERR_IO,
                         "cannot open flash file %s: %s", s->flash_file,
                         strerror(errno));
    }
    if (fstat(fd, &st) == 0 && (size_t)st.st_size != s->flash_size)
        log_msg(&s->log, ED_LOG_WARN,
                "flash file %s holds %lld bytes, flash is %zu: "
                "using what fits, the rest reads 0xFF",
                s->flash_file, (long long)st.st_size, s->flash_size);
    if (read_all(fd, s->flash, s->flash_size) < 0) {
        int e = errno;
        close(fd);
        return ed_seterr(err, errlen, ED_ERR_IO,
                         "cannot read flash file %s: %s", s->flash_file,
                         strerror(e));
    }
    close(fd);
    return ED_OK;
}

int sim_save(struct sim *s)
{
    int fd;
    size_t done = 0;

    if (!s || !s->flash_file)
        return ED_OK;
    fd = open(s->flash_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_msg(&s->log, ED_LOG_ERROR, "cannot write flash file %s: %s",
                s->flash_file, strerror(errno));
        return ED_ERR_IO;
    }
    while (done < s->flash_size) {
        ssize_t n = write(fd, s->flash + done, s->flash_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            log_msg(&s->log, ED_LOG_ERROR, "cannot write flash file %s: %s",
                    s->flash_file, strerror(errno));
            close(fd);
            return ED_ERR_IO;
        }
        done += (size_t)n;
    }
    if (close(fd) != 0)
        return ED_ERR_IO;
    s->flash_dirty = false;
    return ED_OK;
}

void sim_flash_erase(struct sim *s, uint32_t addr, uint32_t len)
{
    uint32_t start = addr & ~(SECTOR - 1);
    uint64_t end = ((uint64_t)addr + len + SECTOR - 1) & ~(uint64_t)(SECTOR - 1);

    if (start >= s->flash_size)
        return;
    if (end > s->flash_size)
        end = s->flash_size;
    memset(s->flash + start, 0xFF, (size_t)(end - start));
    s->flash_dirty = true;
}

void sim_flash_program(struct sim *s, uint32_t addr, const uint8_t *data,
                       size_t len)
{
    if (addr >= s->flash_size)
        return;
    if (len > s->flash_size - addr)
        len = s->flash_size - addr;
    for (size_t i = 0; i < len; i++)
        if (!sim_units_weak_cell(s, addr + (uint32_t)i))
            s->flash[addr + i] &= data[i];
    s->flash_dirty = true;
}

int64_t sim_flash_erase_us(uint32_t len, bool block64)
{
    if (block64)
        return (int64_t)((len + BLOCK64 - 1) / BLOCK64) * BLOCK_ERASE_US;
    return (int64_t)((len + SECTOR - 1) / SECTOR) * SECTOR_ERASE_US;
}

/* Time to erase [addr, addr+len) the way the ROM does: 64 KiB blocks where
 * aligned, 4 KiB sectors elsewhere. */
int64_t sim_flash_region_erase_us(uint32_t addr, uint32_t len)
{
    uint32_t a = addr & ~(SECTOR - 1);
    uint64_t end = (uint64_t)addr + len;
    int64_t us = 0;

    while (a < end) {
        if ((a % BLOCK64) == 0 && a + (uint64_t)BLOCK64 <= end) {
            us += BLOCK_ERASE_US;
            a += BLOCK64;
        } else {
            us += SECTOR_ERASE_US;
            a += SECTOR;
        }
    }
    return us;
}

int64_t sim_flash_chip_erase_us(size_t flash_size)
{
    return (int64_t)((double)CHIP_ERASE_US_PER_4MIB * (double)flash_size /
                     (4.0 * 1024 * 1024));
}

int64_t sim_flash_program_us(size_t len)
{
    return (int64_t)((len + 255) / 256) * PAGE_PROGRAM_US;
}

int64_t sim_flash_md5_us(size_t len)
{
    return (int64_t)((double)len * 1e6 / MD5_BYTES_PER_S);
}

#define INFLATE_CHUNK 32768

struct sim_inflater *sim_inflater_new(bool hold)
{
    struct sim_inflater *inf = calloc(1, sizeof *inf);

    if (!inf)
        return NULL;
    if (hold && !(inf->hold = malloc(INFLATE_CHUNK))) {
        free(inf);
        return NULL;
    }
    if (inflateInit(&inf->z) != Z_OK) {
        free(inf->hold);
        free(inf);
        return NULL;
    }
    return inf;
}

void sim_inflater_free(struct sim_inflater *inf)
{
    if (!inf)
        return;
    inflateEnd(&inf->z);
    free(inf->hold);
    free(inf);
}

/*
 * A holding inflater (the stub's): output gathers in its 32 KiB buffer
 * and goes to sink only when the buffer is full or the stream ends, as
 * esp-flasher-stub's s_flash_defl_data_post_process (src/command_handler.c)
 * writes its static decompressed_data[TINFL_LZ_DICT_SIZE]: what a stream
 * inflated since its last full 32 KiB is not on the flash until then.
 */
static int inflate_held(struct sim_inflater *inf, size_t max_out,
                        sim_inflate_sink sink, void *ctx)
{
    uint8_t probe;
    int rc, e = SIM_E_OK;

    for (;;) {
        size_t cap = INFLATE_CHUNK - inf->held;
        size_t left = max_out > inf->held ? max_out - inf->held : 0;
        size_t room = left < cap ? left : cap;
        size_t got;

        /* all announced bytes are out: one more byte would be too much */
        inf->z.next_out = room ? inf->hold + inf->held : &probe;
        inf->z.avail_out = room ? (uInt)room : 1;
        rc = inflate(&inf->z, Z_NO_FLUSH);
        got = (room ? room : 1) - inf->z.avail_out;
        if (!room && got) {
            /* the stub writes its full buffer; the simulator stops at
             * the announced size (see sim_inflate) */
            if (inf->held)
                sink(ctx, inf->hold, inf->held);
            inf->held = 0;
            return SIM_E_TOO_MUCH;
        }
        inf->held += got;
        if (inf->held == INFLATE_CHUNK ||
            (rc == Z_STREAM_END && inf->held)) {
            e = sink(ctx, inf->hold, inf->held);
            max_out -= inf->held;
            inf->held = 0;
            if (e != SIM_E_OK)
                return e;
        }
        if (rc == Z_STREAM_END) {
            inf->ended = true;
            return SIM_E_OK;
        }
        if (rc == Z_BUF_ERROR && inf->z.avail_in == 0)
            return SIM_E_OK; /* needs the next block */
        if (rc != Z_OK)
            return SIM_E_INFLATE;
        if (inf->z.avail_in == 0 && inf->z.avail_out > 0)
            return SIM_E_OK;
    }
}

int sim_inflate(struct sim_inflater *inf, const uint8_t *in, size_t n,
                size_t max_out, sim_inflate_sink sink, void *ctx)
{
    uint8_t *buf, probe;
    int rc, e = SIM_E_OK;

    if (inf->ended)
        return n ? SIM_E_INFLATE : SIM_E_OK;
    if (inf->hold) {
        inf->z.next_in = (Bytef *)in;
        inf->z.avail_in = (uInt)n;
        return inflate_held(inf, max_out, sink, ctx);
    }
    buf = malloc(INFLATE_CHUNK);
    if (!buf)
        return SIM_E_NOMEM;
    inf->z.next_in = (Bytef *)in;
    inf->z.avail_in = (uInt)n;
    for (;;) {
        size_t room = max_out < INFLATE_CHUNK ? max_out : INFLATE_CHUNK;
        size_t got;

        /* all announced bytes are out: one more byte would be too much */
        inf->z.next_out = room ? buf : &probe;
        inf->z.avail_out = room ? (uInt)room : 1;
        rc = inflate(&inf->z, Z_NO_FLUSH);
        got = (room ? room : 1) - inf->z.avail_out;
        if (!room && got) {
            e = SIM_E_TOO_MUCH;
            break;
        }
        if (got) {
            e = sink(ctx, buf, got);
            if (e != SIM_E_OK)
                break;
            max_out -= got;
        }
        if (rc == Z_STREAM_END) {
            inf->ended = true;
            break;
        }
        if (rc == Z_BUF_ERROR && inf->z.avail_in == 0)
            break; /* needs the next block */
        if (rc != Z_OK) {
            e = SIM_E_INFLATE;
            break;
        }
        if (inf->z.avail_in == 0 && inf->z.avail_out > 0)
            break;
    }
    free(buf);
    return e;
}

void sim_md5(const uint8_t *data, size_t len, uint8_t out[16])
{
    MD5_CTX c;

    MD5Init(&c);
    MD5Update(&c, data, len);
    MD5Final(out, &c);
}
