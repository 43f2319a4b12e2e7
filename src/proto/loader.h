/*
 * loader.h - talking to one chip's serial loader (ROM, then stub).
 *
 * struct loader sits on a port (not owned) and a struct proto; it knows
 * whether the ROM or a stub answers, which chip it is, and carries the
 * timeouts that scale with the work.  Operations block on the calling thread
 * (the engine thread) with deadlines; none starts a thread.
 *
 * Errors: every function returns enum ed_err and leaves one sentence in
 * loader_errmsg() ("no reply from the chip on /dev/ttyUSB0 after 7 attempts:
 * hold BOOT and press RESET, or check the cable").
 */
#ifndef ED_LOADER_H
#define ED_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chip.h"
#include "log.h"
#include "port.h"

struct proto;

#define LOADER_ROM_BAUD 115200
#define LOADER_ROM_FLASH_BLOCK 0x400
#define LOADER_STUB_FLASH_BLOCK 0x4000
#define LOADER_MIN_FLASH_BLOCK 0x400
#define LOADER_RAM_BLOCK 0x1800

struct loader;

/* Cancel hook: checked between blocks; return true to stop (ED_ERR_CANCELLED). */
typedef bool (*loader_cancel_fn)(void *ctx);

int loader_new(struct loader **out, struct port *port,
               const struct log_sink *log);
void loader_free(struct loader *l);
const char *loader_errmsg(const struct loader *l);
void loader_set_cancel(struct loader *l, loader_cancel_fn fn, void *ctx);
/* A flasher stub may be running before the connect (one left by an earlier
 * job): its SYNC retries then alternate with a lone 0xC0, which puts a
 * receiver left out of step (a frame cut by a killed job) back in step. */
void loader_expect_stub(struct loader *l, bool maybe);
/*
 * Largest data block of the next flash writes (FLASH_DATA / FLASH_DEFL_DATA),
 * bytes; 0 = the loader's own (16 KiB stub, 1 KiB ROM).  Never below 1 KiB.
 * A noisy line damages a short block less often: the engine shrinks it
 * after a write error.
 */
void loader_set_flash_block(struct loader *l, uint32_t max);
uint32_t loader_flash_block(const struct loader *l);
/* Data blocks sent again so far because the chip rejected them unread
 * (damaged on the way). */
unsigned loader_resends(const struct loader *l);
/* How often one block the chip rejected unread is sent again before the
 * write fails (default LOADER_BLOCK_RESENDS).  0: fail at once, for a
 * caller that would rather take a rejection as a sign to lower the baud. */
#define LOADER_BLOCK_RESENDS 16
void loader_set_block_resends(struct loader *l, unsigned n);
/* How long a re-sync after an error keeps trying SYNC (ms; 0: a few
 * tries): a line may stall for seconds and come back. */
void loader_set_patience(struct loader *l, int ms);
/* Did a command after a write get the stub's deferred error for one of
 * the write's last blocks (it could not inflate or write it)?  Cleared by
 * the next write. */
bool loader_late_write_error(const struct loader *l);
/* Told at the start of every connect attempt (1, 2, ...): progress dots. */
typedef void (*loader_attempt_fn)(void *ctx, int attempt);
void loader_set_attempt_hook(struct loader *l, loader_attempt_fn fn,
                             void *ctx);

/*
 * Reset into download mode (per `before` and the port's reset plan, or the
 * custom sequence if non-NULL/non-empty) and SYNC, with retries.  Reads the
 * boot banner: a board that booted its app says so ("board booted normally,
 * not in download mode: ..."), download mode without a reply says so too.
 * Then detects the chip (GET_SECURITY_INFO, else magic register), decided
 * only when two reads in a row agree.
 * reset_used (may be NULL, 32 bytes) gets the strategy that worked.
 */
int loader_connect(struct loader *l, enum port_before before,
                   const char *custom_seq, int attempts, char *reset_used);

enum chip_id loader_chip(const struct loader *l);
bool loader_is_stub(const struct loader *l);
uint32_t loader_baud(const struct loader *l);
/* GET_SECURITY_INFO said SECURE_DOWNLOAD_ENABLE (never guessed from a
 * refused command). */
bool loader_secure_download(const struct loader *l);
/* The packet layer underneath (proto_junk() shows what the board printed). */
struct proto *loader_proto(struct loader *l);

int loader_read_reg(struct loader *l, uint32_t addr, uint32_t *out);
int loader_write_reg(struct loader *l, uint32_t addr, uint32_t value,
                     uint32_t mask, uint32_t delay_us);
int loader_read_mac(struct loader *l, uint8_t mac[6]);
/* JEDEC id via the SPI user-command registers: mfr | dev << 8 | cap << 16. */
int loader_flash_id(struct loader *l, uint32_t *out);
/* Crystal estimate from the UART clock divider (26, 40, 48 MHz). */
int loader_crystal_mhz(struct loader *l, int *out);
/*
 * Chip revision from the eFuse fields esptool reads (ESP32: CHIP_VER_REV1,
 * REV2 and APB_CTRL_DATE; the others their WAFER_VERSION_MAJOR/MINOR).
 * Read once, then cached.  ED_ERR_UNSUPPORTED in Secure Download Mode.
 */
int loader_chip_revision(struct loader *l, int *major, int *minor);
/*
 * esptool's description into buf: "ESP32-D0WD-V3 (revision v3.0)",
 * "ESP32-C3 (QFN32) (revision v0.4)", "ESP32-S3 (revision v0.2)"; the
 * display name alone when the revision cannot be read.
 */
int loader_chip_description(struct loader *l, char *buf, size_t len);

/* GET_SECURITY_INFO (ED_ERR_UNSUPPORTED on ESP32). chip_id may be NULL. */
int loader_security_info(struct loader *l, uint32_t *flags, uint32_t *chip_id);

/* Load segments into RAM (MEM_BEGIN/DATA/END); entry 0 = do not jump. */
struct loader_segment {
    uint32_t addr;
    const uint8_t *data;
    size_t len;
};
int loader_mem_load(struct loader *l, const struct loader_segment *segs,
                    size_t n, uint32_t entry);
/* Upload a stub (text, data), jump to entry, wait for OHAI; switch to stub framing. */
int loader_run_stub(struct loader *l, const struct loader_segment *segs,
                    size_t n, uint32_t entry);
/* The stub upload again after the port was opened again mid-upload: the
 * stub may be running already (its OHAI lost), else it is uploaded. */
int loader_restart_stub(struct loader *l, const struct loader_segment *segs,
                        size_t n, uint32_t entry);

/* CHANGE_BAUDRATE (old-baud word sent to a stub), then the port follows. */
int loader_change_baud(struct loader *l, uint32_t baud);
/* The port back at the ROM's 115200, without a command (the chip is there
 * again, or never left it); drops what was buffered. */
void loader_rom_baud(struct loader *l);
/*
 * A few quick round trips (READ_REG of the chip's magic register, short
 * timeouts, no retries): ED_OK when every one came back with the same
 * value, else the failure.  Used after a baud change to see that the link
 * holds.
 */
int loader_link_check(struct loader *l, int rounds);
/* SPI_ATTACH (ROM) and SPI_SET_PARAMS for a flash of size bytes. */
int loader_flash_attach(struct loader *l, uint32_t flash_size);

/*
 * Write data at offset.  compress: loader_deflate() (FLASH_DEFL_*) when it
 * shrinks; else FLASH_*.  progress (may be NULL) gets uncompressed bytes done
 * and wire bytes sent after every block.  Does not verify (call loader_md5).
 * Every block is sent once: on a bad status, a lost or malformed reply the
 * write stops with that error (the caller proves what reached the flash and
 * starts a new write there; a block is never fed twice into one stream).
 */
typedef void (*loader_progress_fn)(void *ctx, size_t done, size_t total,
                                   size_t wire_done, size_t wire_total);
int loader_flash_write(struct loader *l, uint32_t offset, const uint8_t *data,
                       size_t len, bool compress, loader_progress_fn progress,
                       void *ctx);
/* The same with a zlib stream made by loader_deflate() (or any standard
 * zlib stream) of len bytes: FLASH_DEFL_BEGIN/DATA. */
int loader_flash_write_deflated(struct loader *l, uint32_t offset,
                                size_t len, const uint8_t *comp,
                                size_t comp_len, loader_progress_fn progress,
                                void *ctx);
/* The zlib stream the loader sends for data (libdeflate level 10; *out
 * malloc'ed; ED_ERR_NOMEM).  Thread-safe and needs no loader: the engine
 * compresses ahead on a helper thread (src/flash/zcache.h). */
int loader_deflate(const uint8_t *data, size_t len, uint8_t **out,
                   size_t *out_len);
/* FLASH_END / FLASH_DEFL_END with stay-in-loader (stub "flush"). */
int loader_flash_finish(struct loader *l, bool reboot);
/* SPI_FLASH_MD5 of [offset, offset+len): raw 16 bytes (stub) or 32 hex (ROM) decoded. */
int loader_md5(struct loader *l, uint32_t offset, uint32_t len,
               uint8_t digest[16]);
/* SPI_FLASH_MD5 of n ranges, two requests in flight (see loader.c). */
int loader_md5_many(struct loader *l, const uint32_t *offsets,
                    const uint32_t *lens, size_t n, uint8_t (*digests)[16]);
/*
 * Get the link usable again after a failed command: drop what is buffered,
 * SYNC (the loader answers whatever state its last command left it in) and
 * check that the same loader (stub or ROM) answers.  ED_ERR_BOOT when the
 * board was reset meanwhile.
 */
int loader_resync(struct loader *l);
/* After the caller reopened the port (a network link that closed): carry
 * on over port, same loader state. */
int loader_set_port(struct loader *l, struct port *port);
/* READ_FLASH (stub streaming with acks and final MD5) or READ_FLASH_SLOW (ROM). */
int loader_read_flash(struct loader *l, uint32_t offset, uint8_t *buf,
                      size_t len, loader_progress_fn progress, void *ctx);
int loader_erase_flash(struct loader *l);
int loader_erase_region(struct loader *l, uint32_t offset, uint32_t len);

/* --after: hard reset via RTS, soft reset, or stay. */
int loader_after(struct loader *l, enum port_after after);

/* esptool's timeout model (ms): never below 3 s. */
int loader_timeout_per_mb(double seconds_per_mb, size_t bytes);

#endif
