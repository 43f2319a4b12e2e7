/*
 * proto.h - ESP serial loader commands and replies (host side).
 *
 * Packet layout, checksum, status decoding (4 status bytes from ESP32-family
 * ROMs, 2 from ESP8266 and from flasher stubs, error code first on stubs),
 * error names, and the "unsupported command" reply.  struct proto wraps a
 * port and a SLIP decoder; proto_command() sends one request and waits, up
 * to a deadline, for the matching reply.
 */
#ifndef ED_PROTO_H
#define ED_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "port.h"
#include "slip.h"

enum proto_op {
    OP_FLASH_BEGIN = 0x02,
    OP_FLASH_DATA = 0x03,
    OP_FLASH_END = 0x04,
    OP_MEM_BEGIN = 0x05,
    OP_MEM_END = 0x06,
    OP_MEM_DATA = 0x07,
    OP_SYNC = 0x08,
    OP_WRITE_REG = 0x09,
    OP_READ_REG = 0x0A,
    OP_SPI_SET_PARAMS = 0x0B,
    OP_SPI_ATTACH = 0x0D,
    OP_READ_FLASH_SLOW = 0x0E,
    OP_CHANGE_BAUDRATE = 0x0F,
    OP_FLASH_DEFL_BEGIN = 0x10,
    OP_FLASH_DEFL_DATA = 0x11,
    OP_FLASH_DEFL_END = 0x12,
    OP_SPI_FLASH_MD5 = 0x13,
    OP_GET_SECURITY_INFO = 0x14,
    OP_ERASE_FLASH = 0xD0,
    OP_ERASE_REGION = 0xD1,
    OP_READ_FLASH = 0xD2,
    OP_RUN_USER_CODE = 0xD3,
};

#define PROTO_MAX_FRAME (0x4000 + 64)

struct proto_reply {
    uint8_t op;
    uint32_t value;
    const uint8_t *data; /* response data before the status bytes (points into the proto's buffer) */
    size_t data_len;
    uint8_t status;      /* ROM: 0 ok / 1 fail; stub: the error code (0 ok) */
    uint8_t error;       /* ROM: the error code; stub: secondary byte */
};

struct proto;

int proto_new(struct proto **out, struct port *port, const struct log_sink *log);
void proto_free(struct proto *p);
const char *proto_errmsg(const struct proto *p);
struct port *proto_port(struct proto *p);

/* Status byte convention of the loader on the other side. */
void proto_set_stub(struct proto *p, bool stub);   /* 2 status bytes, code first */
void proto_set_status_len(struct proto *p, int n); /* 4 (ESP32 ROM) or 2 */

/* Checksum of data-to-write: 0xEF XOR every byte. */
uint8_t proto_checksum(const uint8_t *data, size_t len);

/* Build a command packet (header + data) into out[cap]; returns length or 0. */
size_t proto_build(uint8_t *out, size_t cap, uint8_t op, const uint8_t *data,
                   size_t len, uint32_t checksum);

/*
 * Send op with data and wait for its reply until timeout_ms.  Frames with
 * another opcode are skipped (up to 100, as esptool: then ED_ERR_PROTO); a
 * reply with another opcode and status [non-zero, 0x05] is "unsupported"
 * (ED_ERR_UNSUPPORTED).  A timeout after only other opcodes is
 * ED_ERR_TIMEOUT saying "the chip answers, but not to OP (got ...)".  A
 * frame of the wrong shape (see proto_bad_frames(), including a size field
 * that disagrees with the frame beyond the legacy stub's documented quirks)
 * is ED_ERR_PROTO, its sentence ending with PROTO_LINE_FIX.  A device error
 * returns ED_ERR_DEVICE with the named code in the errmsg (a ROM's code
 * followed by its likely fix).
 * reply may be NULL.  reply->data stays valid until the next call.
 * want_data: bytes of response data expected before the status bytes.
 */
int proto_command(struct proto *p, uint8_t op, const uint8_t *data, size_t len,
                  uint32_t checksum, size_t want_data, int timeout_ms,
                  struct proto_reply *reply);

/*
 * Wait for the reply to op, already sent with proto_send(): the second half
 * of proto_command(), same rules.  Lets a caller keep more than one request
 * in flight (the loader's pipelined MD5s).
 */
int proto_wait(struct proto *p, uint8_t op, size_t want_data, int timeout_ms,
               struct proto_reply *reply);

/* Send a command without waiting for a reply. */
/* A lone SLIP delimiter: puts esp-flasher-stub's receiver back in step
 * when it is out of step, costs the next frame when it is not (see
 * loader.c lone_end). */
int proto_send_end(struct proto *p);
int proto_send(struct proto *p, uint8_t op, const uint8_t *data, size_t len,
               uint32_t checksum);
/* Send a raw SLIP frame (READ_FLASH acks). */
int proto_send_frame(struct proto *p, const uint8_t *body, size_t len);
/* Read the next SLIP frame (raw body, no header parsing) until timeout. */
int proto_read_frame(struct proto *p, const uint8_t **body, size_t *len,
                     int timeout_ms);

/* Text collected outside frames (boot banner, app output) since last clear. */
const uint8_t *proto_junk(const struct proto *p, size_t *len);
/* Also forgets the boot line and the download-mode mark below. */
void proto_clear_junk(struct proto *p);
/*
 * What the ROM banner said since the last proto_clear_junk(), scanned as the
 * text arrives (so a long boot log cannot push it out of the junk buffer):
 * the last "boot:0x13 (SPI_FAST_FLASH_BOOT)" seen ("" if none), and whether
 * a download-mode line ("waiting for download", "wait uart0 download") or a
 * download boot mode was seen.
 */
const char *proto_boot_line(const struct proto *p);
bool proto_download_seen(const struct proto *p);
/* Bytes outside frames ever seen (garbage detection). */
size_t proto_junk_total(const struct proto *p);
/*
 * Junk bytes the banner scan above has looked at: it reads only what is
 * new (and a short tail), so this grows linearly with proto_junk_total()
 * however the port slices the bytes (a diagnostic for tests).
 */
size_t proto_junk_scanned(const struct proto *p);
/*
 * Frames of the wrong shape ever seen by proto_command(): too short, not
 * marked as a reply, a size field that disagrees with the frame, no status
 * bytes, or a reply to another command than the one waited for.
 */
size_t proto_bad_frames(const struct proto *p);

/*
 * The likely fix that ends every sentence about a reply of the wrong shape
 * (ED_ERR_PROTO).  proto_malformed() formats such a sentence into buf with
 * this fix appended and returns ED_ERR_PROTO; the loader uses it for the
 * frames it checks itself, so they all end the same way.
 */
#define PROTO_LINE_FIX                                                        \
    "another program may be writing to the port, or the line is noisy; "      \
    "reset the board and retry, or lower --baud"
int proto_malformed(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Drop buffered input here and in the port (after a baud change). */
int proto_flush_input(struct proto *p);

/* Names of status codes: "0x07 checksum error" / "0xC1 BAD_DATA_CHECKSUM". */
const char *proto_rom_error_name(uint8_t code);
const char *proto_stub_error_name(uint8_t code);
const char *proto_op_name(uint8_t op);
/* The likely fix for a ROM error code ("the ROM rejected the command: ..."). */
const char *proto_rom_error_fix(uint8_t code);

#endif
