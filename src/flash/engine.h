/*
 * engine.h - the flashing engine: one board, one background thread.
 *
 * The engine thread owns the port and all protocol state.  It runs a job
 * (flash a set of images, then optionally monitor the target's output; or
 * monitor only) and reports through a bounded event queue; after pushing an
 * event it writes one byte to a non-blocking pipe whose read end the UI polls
 * (engine_wake_fd()).  The UI sends commands through engine_command();
 * cancel is an atomic flag checked between blocks, and every serial call has
 * a deadline, so cancel takes effect within one block.
 *
 * Many engines may run at once (a bench): no process-wide state.
 * Thread rules: engine_new/start/poll/command/cancel/free are called from
 * one controlling thread (the UI or batch loop); everything else happens on
 * the engine thread.
 */
#ifndef ED_ENGINE_H
#define ED_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chip.h"
#include "err.h"
#include "log.h"
#include "port.h"
#include "zcache.h"

#define ENGINE_MAX_IMAGES 32

struct engine_chip_info;

struct engine_image {
    char name[32];          /* partition or image name: "bootloader", "factory" */
    char source[256];       /* file path as written in the profile, or "generated from the profile" */
    uint32_t offset;
    uint32_t region_size;   /* partition size (0 = unknown) */
    uint8_t *data;          /* owned by the job (engine_job_clear frees) */
    size_t len;
    /* data is the caller's, read-only, kept until engine_free (a bench's
     * images shared by its slots): not freed; copied before a change */
    bool borrowed;
};

enum engine_op {
    ENGINE_OP_FLASH,        /* connect, write every image, verify, reset, [monitor] */
    ENGINE_OP_MONITOR,      /* open the port at monitor_baud and show output */
    ENGINE_OP_ERASE,        /* erase all (erase_size 0) or a region */
    ENGINE_OP_READ,         /* read flash into read_out */
    ENGINE_OP_INFO,         /* connect and report chip info only */
};

struct engine_job {
    enum engine_op op;
    char port[256];
    uint32_t baud;          /* after the stub runs (sync is at 115200);
                               ENGINE_BAUD_AUTO: the fastest that holds;
                               ENGINE_BAUD_DEFAULT: the port's default */
    uint32_t monitor_baud;  /* 0 = 115200 */
    enum port_before before;
    enum port_after after;
    char reset_seq[128];    /* custom reset sequence, "" = strategy list */
    enum chip_id expect_chip; /* CHIP_UNKNOWN = auto */
    char flash_mode[8];     /* "keep", "qio", "qout", "dio", "dout" */
    char flash_freq[8];     /* "keep", "80m", "40m", ... */
    char flash_size[8];     /* "keep", "detect", "4MB", ... */
    struct engine_image images[ENGINE_MAX_IMAGES];
    size_t n_images;
    bool no_stub;           /* flash through the ROM */
    bool force;             /* write even when the flash MD5 already matches */
    bool no_compress;
    bool monitor_after;     /* after flashing, reset into the app and monitor */
    uint32_t erase_offset, erase_size;   /* ENGINE_OP_ERASE; size 0 = whole chip */
    uint32_t read_offset, read_size;     /* ENGINE_OP_READ */
    uint8_t *read_out;      /* ENGINE_OP_READ: filled buffer, owned by the job */
    /* Added by the engine module (engine_job_init sets the defaults). */
    char stub_dir[256];     /* "" = embedded stubs; else DIR/<chip>.json */
    enum log_level log_level; /* EV_LOG lines up to this level (ED_LOG_INFO) */
    int connect_attempts;   /* reset+sync rounds (7, as esptool) */
    /*
     * Optional (the bench): called on the engine thread once the chip
     * answered (chip, revision, MAC known; before the stub).  A non-zero
     * enum ed_err ends the job there with that status and the sentence the
     * hook left in why (a unit that already passed, another chip).
     */
    int (*admit)(void *ctx, const struct engine_chip_info *chip, char *why,
                 size_t whylen);
    void *admit_ctx;
    /* Write recoveries (prove what is on the flash, resume there): at most
     * write_retries per image (4) and write_retries_total per job (12);
     * 0 = fail at the first error. */
    int write_retries;
    int write_retries_total;
    /* Compressed images, cached by SHA-256 (src/flash/zcache.h): owned by
     * the caller, who may share it between engines (a bench: every slot
     * flashes the same images, compressed once) and frees it after them.
     * NULL: the engine keeps its own for the job's lifetime. */
    struct zcache *zcache;
};

/* --baud auto: climb a ladder of rates, check each, step down. */
#define ENGINE_BAUD_AUTO 0xFFFFFFFFu
/*
 * No --baud, no profile or config.yaml baud: decided once the port is
 * open (links_auto_by_default): ENGINE_BAUD_AUTO on a local USB serial
 * port, rfc2217:// and a sim: board behind a simulated USB adapter,
 * else ENGINE_BAUD_FIXED.
 */
#define ENGINE_BAUD_DEFAULT 0xFFFFFFFEu
#define ENGINE_BAUD_FIXED 921600u

/* Defaults: the port's baud (above), default-reset, hard-reset, keep,
 * auto chip. */
void engine_job_init(struct engine_job *job);
/* Free the images and read_out. */
void engine_job_clear(struct engine_job *job);

enum engine_phase {
    PHASE_WAITING,
    PHASE_ERASING,
    PHASE_WRITING,
    PHASE_VERIFYING,
    PHASE_SKIPPED,          /* unchanged: flash MD5 already matched */
    PHASE_DONE,             /* written and verified */
    PHASE_FAILED,
    PHASE_CANCELLED,        /* not (completely) written */
};

enum engine_state {
    STATE_IDLE,
    STATE_CONNECTING,
    STATE_STUB,             /* uploading the stub */
    STATE_BAUD,
    STATE_FLASHING,
    STATE_RESETTING,
    STATE_MONITORING,
    STATE_DONE,
    STATE_FAILED,
    STATE_CANCELLED,
};

enum engine_event_kind {
    EV_LOG,
    EV_STATE,
    EV_CHIP,
    EV_PART,
    EV_MONITOR,             /* bytes from the target (after flashing / monitor op) */
    EV_FINISHED,            /* the job is over (monitoring ended or op done) */
};

struct engine_chip_info {
    enum chip_id chip;
    char display[48];       /* "ESP32-C3 (QFN32) (revision v0.4)" */
    int revision;           /* major*100+minor from eFuse, -1 unknown */
    uint8_t mac[6];
    uint32_t flash_id;      /* JEDEC: manufacturer | device << 8 | capacity << 16 */
    uint32_t flash_size;
    int crystal_mhz;
    uint32_t baud;
    bool usb_jtag;          /* USB-Serial/JTAG: the baud has no effect */
    bool stub;
    char reset_used[32];    /* "classic reset", "no reset", ... */
};

struct engine_part_info {
    int index;
    enum engine_phase phase;
    uint64_t done;          /* uncompressed bytes written */
    uint64_t total;
    uint64_t wire_bytes;    /* compressed bytes sent */
    uint64_t wire_total;
    double rate;            /* uncompressed bytes per second */
    double elapsed;         /* seconds in this partition */
    uint64_t written;       /* bytes written (less than total after a
                             * sector-delta write; more after a resume) */
    unsigned recoveries;    /* write errors recovered from (resumed) */
    unsigned resent;        /* data blocks the chip rejected unread
                             * (damaged on the way) and got again */
    char message[160];      /* failure reason, or "unchanged", ... */
};

struct engine_event {
    enum engine_event_kind kind;
    union {
        struct { enum log_level level; char text[240]; } log;
        struct {
            enum engine_state state;
            int attempt;        /* STATE_CONNECTING: attempt 2, 3, ...; else 0 */
        } state;
        struct engine_chip_info chip;
        struct engine_part_info part;
        struct { size_t len; uint8_t data[1024]; } monitor;
        struct {
            int status;         /* ED_OK or an enum ed_err */
            enum engine_state stage; /* where it failed (STATE_CONNECTING ...) */
            char message[ED_ERRMSG_MAX];
        } finished;
    } u;
};

enum engine_cmd {
    ENGINE_CMD_RESET_TARGET,   /* hard reset (monitoring) */
    ENGINE_CMD_REFLASH,        /* run the flash job again */
    ENGINE_CMD_STOP,           /* end monitoring; thread finishes */
};

struct engine;

/* Takes ownership of *job's images (job is left empty). */
int engine_new(struct engine **out, struct engine_job *job, char *err,
               size_t errlen);
int engine_start(struct engine *e);
/* Read end of the wake-up pipe: readable when events are queued. */
int engine_wake_fd(const struct engine *e);
/* Pop one event; false when the queue is empty.  Drains the wake pipe. */
bool engine_poll(struct engine *e, struct engine_event *ev);
void engine_command(struct engine *e, enum engine_cmd cmd);
/*
 * Bytes for the target while monitoring (typed keys, a script's stdin):
 * queued, and written by the engine thread in order within one monitor
 * poll (20 ms).  Returns how many were taken (fewer when the queue, 4 KiB,
 * is full: send the rest later).  Bytes sent while not monitoring wait for
 * the monitor.
 */
size_t engine_send(struct engine *e, const void *data, size_t len);
/* Change the monitor's baud rate now (Ctrl-T B); logged by the engine. */
void engine_set_monitor_baud(struct engine *e, uint32_t baud);
void engine_cancel(struct engine *e);
/* true once the thread has posted EV_FINISHED and exited. */
bool engine_finished(const struct engine *e);
/* The job (images, read_out) for reading after EV_FINISHED. */
const struct engine_job *engine_job(const struct engine *e);
/* Stop (cancel if running), join the thread, free. NULL is fine. */
void engine_free(struct engine *e);

/*
 * Test hooks (tests only; set before engine_start).  after_write runs on
 * the engine thread after image index was written and before its MD5 check;
 * it may change the job's image data (to provoke a verify mismatch).
 * engine_cancel() is safe from any thread (an atomic flag).
 */
struct engine_hooks {
    void (*after_write)(void *ctx, struct engine_job *job, size_t index);
    /* after every written block (engine thread); may call engine_cancel */
    void (*progress)(void *ctx, size_t index, uint64_t done, uint64_t total);
    /* before every SPI_FLASH_MD5 the engine asks for (engine thread) */
    void (*md5)(void *ctx, uint32_t offset, uint32_t len);
    /* after the engine opened its port, and after every reopen (engine
     * thread): may replace *port with a port that wraps it and closes it
     * (a fault-injecting or byte-counting port in tests) */
    void (*port_opened)(void *ctx, struct port **port);
    void *ctx;
};
void engine_set_hooks(struct engine *e, const struct engine_hooks *h);

/*
 * The exit-code class of a finished job: 0 ok, else which cmd_exit applies
 * is decided by the caller from these: true when status/stage mean the
 * board could not be reached (port, reset, sync, chip mismatch, stub).
 */
bool engine_failed_connecting(int status, enum engine_state stage);

const char *engine_phase_name(enum engine_phase ph);
const char *engine_state_name(enum engine_state st);

#endif
