/*
 * port.h - the byte pipe to a board, and how to reset it.
 *
 * A port is opened from a URL:
 *   /dev/ttyUSB0, COM3         local serial port (libserialport, advisory lock)
 *   socket://host:port         raw TCP, no modem lines
 *   rfc2217://host:port        RFC 2217 (Telnet COM-PORT-OPTION): baud, DTR, RTS
 *   sim:CHIP[?opts]            the simulated board, in-process (src/sim/)
 *
 * Every backend implements struct port_ops.  Concrete ports embed struct
 * port as their first member; backends get back their own struct with a
 * cast.  Only port_*.c files know the backends; everything above sees
 * struct port.
 *
 * Ownership: port_open() returns a port the caller frees with port_close().
 * Thread rules: a port is used by one thread at a time (the engine thread);
 * it keeps no global state, so many ports may be open on many threads.
 * Errors: functions return enum ed_err and leave one sentence, with the fix
 * where we know it, in port_errmsg().
 */
#ifndef ED_PORT_H
#define ED_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "log.h"

enum port_kind {
    PORT_SERIAL,
    PORT_SOCKET,
    PORT_RFC2217,
    PORT_SIM,
};

struct port;

/* Polled during long waits (the reset sequence's sleeps): true = stop. */
typedef bool (*port_cancel_fn)(void *ctx);

struct port_ops {
    /* Release everything; the struct itself is freed by the backend. */
    void (*close)(struct port *p);
    /*
     * Read up to cap bytes, waiting at most timeout_ms for the first byte
     * (0 = poll).  Returns the number of bytes read (0 on timeout) or a
     * negative enum ed_err (ED_ERR_CLOSED when the peer went away).
     */
    int (*read)(struct port *p, uint8_t *buf, size_t cap, int timeout_ms);
    /* Write all of buf within timeout_ms.  Returns ED_OK or an error. */
    int (*write)(struct port *p, const uint8_t *buf, size_t len,
                 int timeout_ms);
    int (*set_baud)(struct port *p, uint32_t baud);
    /* dtr/rts: 1 = asserted (pin low), 0 = released, -1 = leave as is. */
    int (*set_lines)(struct port *p, int dtr, int rts);
    /* Discard whatever has been received and not read yet. */
    int (*flush_input)(struct port *p);
    /* Wait until written bytes have left (best effort). */
    int (*drain)(struct port *p, int timeout_ms);
};

struct port {
    const struct port_ops *ops;
    enum port_kind kind;
    char url[256];
    uint32_t baud;
    bool has_lines;     /* DTR/RTS reach the board (not for socket://) */
    bool usb;           /* a USB device (libserialport's transport; a sim:
                           board behind a simulated adapter) */
    bool usb_jtag;      /* Espressif USB-Serial/JTAG (303A:1001) */
    uint16_t usb_vid, usb_pid;
    char usb_serial[64];   /* the adapter's USB serial number, or "" */
    char description[128]; /* "CP2102N USB to UART Bridge Controller" */
    int dtr, rts;       /* last values set (1/0) */
    struct log_sink log;
    port_cancel_fn cancel;  /* NULL: waits run to their end */
    void *cancel_ctx;
    char errmsg[ED_ERRMSG_MAX];
};

/*
 * Open url at baud.  On failure *out is NULL, and err (if non-NULL, errlen
 * bytes) holds one sentence: "permission denied on /dev/ttyUSB0: add yourself
 * to the dialout group (sudo usermod -aG dialout $USER) and log in again".
 * log may be NULL.
 */
int port_open(struct port **out, const char *url, uint32_t baud,
              const struct log_sink *log, char *err, size_t errlen);
void port_close(struct port *p); /* NULL is fine */
/*
 * Make the port's waits interruptible: the W steps of a reset sequence
 * (fn(ctx) polled every few ms) and every port_read() longer than
 * PORT_CANCEL_SLICE_MS (read in slices, fn polled between them); a true
 * return ends the wait with ED_ERR_CANCELLED.  fn NULL removes it.
 */
#define PORT_CANCEL_SLICE_MS 50
/* A port_write() to a local serial port still going after this long (a
 * block at a low baud on a real UART, whose kernel buffer holds ~4 KiB) stops at the next piece of
 * PORT_CANCEL_SLICE_MS of wire when the hook says so. */
#define PORT_CANCEL_WRITE_MS 200
void port_set_cancel(struct port *p, port_cancel_fn fn, void *ctx);

int port_read(struct port *p, uint8_t *buf, size_t cap, int timeout_ms);
int port_write(struct port *p, const uint8_t *buf, size_t len, int timeout_ms);
int port_set_baud(struct port *p, uint32_t baud);
int port_set_lines(struct port *p, int dtr, int rts);
int port_set_dtr(struct port *p, int dtr);
int port_set_rts(struct port *p, int rts);
int port_flush_input(struct port *p);
int port_drain(struct port *p, int timeout_ms);
const char *port_errmsg(const struct port *p);

/* ---- reset strategies (esptool names and timings) ---- */

enum port_before {
    BEFORE_DEFAULT_RESET,
    BEFORE_USB_RESET,
    BEFORE_NO_RESET,
    BEFORE_NO_RESET_NO_SYNC,
};

enum port_after {
    AFTER_HARD_RESET,
    AFTER_SOFT_RESET,
    AFTER_NO_RESET,
    AFTER_NO_RESET_STUB,
    AFTER_WATCHDOG_RESET,
};

/* Parse "default-reset"/"default_reset"/... Returns ED_OK or ED_ERR_ARG. */
int port_parse_before(const char *s, enum port_before *out);
int port_parse_after(const char *s, enum port_after *out);
const char *port_before_name(enum port_before b);
const char *port_after_name(enum port_after a);

/* Strategies; each returns ED_OK or an error from set_lines. */
int port_reset_classic(struct port *p, int delay_ms);
int port_reset_unix_tight(struct port *p, int delay_ms);
int port_reset_usb_jtag(struct port *p);
int port_reset_hard(struct port *p);
/*
 * Run an esptool-style custom sequence "D0|R1|W0.1|D1|R0|W0.05|D0":
 * D = DTR, R = RTS, U = both (U0,1 = DTR 0 RTS 1), W = wait seconds.
 * Returns ED_ERR_ARG (with port_errmsg set) for a malformed string.
 */
int port_reset_custom(struct port *p, const char *seq);
/* Check a custom sequence without running it. */
int port_reset_check(const char *seq, char *err, size_t errlen);

/* One parsed step of a reset sequence. */
struct port_reset_step {
    char op;        /* 'D', 'R', 'U' (both lines at once) or 'W' */
    int dtr, rts;   /* 1/0 for the lines the step sets, -1 otherwise */
    int wait_ms;    /* 'W' only */
};

#define PORT_RESET_MAX_STEPS 32

/*
 * Parse seq into at most max steps.  Returns the number of steps (> 0) or
 * ED_ERR_ARG with a sentence naming the bad token in err.  out may be NULL
 * to only check.
 */
int port_reset_parse(struct port_reset_step *out, int max, const char *seq,
                     char *err, size_t errlen);
/*
 * Run parsed steps on p.  Each step is logged at ED_LOG_TRACE on p->log
 * ("reset: DTR=1", "reset: wait 100 ms").  An RTS step re-writes the current
 * DTR afterwards (esptool's workaround for usbser.sys), a U step sets both
 * lines in one call (atomic on local serial ports).
 */
int port_reset_run(struct port *p, const struct port_reset_step *steps,
                   int n);
/*
 * A short name for a sequence from port_reset_plan() ("unix-tight 50 ms",
 * "classic 550 ms", "usb-jtag-serial"), "custom" for anything else.
 */
const char *port_reset_seq_name(const char *seq);

/*
 * The esptool order of download-mode reset strategies for this port:
 * fills names/seqs (custom-sequence strings) and returns how many.  USB-JTAG
 * gets only its own; POSIX serial cycles unix-tight and classic with 50 and
 * 550 ms; rfc2217 uses classic only.
 */
int port_reset_plan(const struct port *p, enum port_before before,
                    const char **seqs, int max);

/* ---- enumeration (espdeck ports) ---- */

struct port_info {
    char name[128];        /* /dev/ttyUSB0 */
    char description[128];
    char serial[64];
    char manufacturer[64];
    uint16_t vid, pid;
    bool usb;
    const char *bridge;    /* "CP210x", "CH340", "FTDI", "USB-Serial/JTAG" or NULL */
    char usb_path[32];     /* USB physical path "1-1.4" (bus-port.port), "" */
};

/* List local serial ports into *out (caller frees with free()).  Returns count >= 0 or an error. */
int port_list(struct port_info **out, char *err, size_t errlen);

/*
 * A slot's USB identity to the device node it has now: "usb-path:1-1.4"
 * (the hub port: stable across re-enumeration and the same for every board
 * plugged there) or "usb-serial:SERIAL" (the adapter's serial number:
 * follows the adapter to another port; not unique for adapters without
 * one).  port_open() accepts both forms and resolves them at every open.
 * ED_OK, ED_ERR_NOT_FOUND (not plugged in), ED_ERR_BUSY (two adapters with
 * that serial), ED_ERR_ARG; err holds the sentence.
 */
int port_usb_resolve(char *out, size_t outlen, const char *ident, char *err,
                     size_t errlen);
/*
 * The other way round: the USB identity of a serial device node, to find
 * the same device again after it re-enumerated under another name (the
 * monitor's reconnect): "usb-serial:SERIAL" when the adapter has a serial
 * number of its own (Espressif's USB-Serial/JTAG: its MAC), else
 * "usb-path:1-1.4".  A usb-path:/usb-serial: URL is its own identity.
 * ED_OK, or ED_ERR_NOT_FOUND (not a USB port: only its name can be
 * waited for).
 */
int port_usb_identity(char *out, size_t outlen, const char *node);
/*
 * Is the port there now?  A device node exists, a USB identity resolves;
 * network and sim: ports count as present (only opening them tells).
 */
bool port_present(const char *url);

/* Name of a known ESP bridge for VID:PID, or NULL. */
const char *port_bridge_name(uint16_t vid, uint16_t pid);

#endif
