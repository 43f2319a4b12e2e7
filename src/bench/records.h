/*
 * records.h - one JSON object per programmed unit, appended to a JSON-lines
 * file that survives crashes (docs/records.md is the schema).
 *
 * Writing: each record is one write() of one complete line on an O_APPEND
 * descriptor, then fsync(); records_append() returns only after both, so a
 * caller that shows PASS after it knows the record is on disk.  Several
 * processes may append to one file: O_APPEND writes of one line never
 * interleave.  A line torn by a crash (kill -9 during the write, power loss)
 * has no newline: records_open() ends it with one, so the next record starts
 * on a line of its own, and readers skip lines that do not parse (and count
 * them).
 *
 * Reading: records_read() calls back for every valid record; the summary
 * (`espdeck records`) and the live bench counters use the same tally
 * (struct rec_tally), so both count alike.
 *
 * Threads: a struct records is used by one thread at a time; a rec_tally
 * likewise.
 */
#ifndef ED_RECORDS_H
#define ED_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "err.h"

#define REC_SCHEMA 1

/* Why a unit failed: a fixed list (docs/records.md). */
enum rec_class {
    REC_CLASS_NONE,         /* passed */
    REC_CLASS_NO_PORT,      /* the port could not be opened */
    REC_CLASS_NO_SYNC,      /* the chip did not answer the ROM loader */
    REC_CLASS_WRONG_CHIP,   /* another chip than the profile's */
    REC_CLASS_STUB,         /* the flasher stub did not start */
    REC_CLASS_BAUD,         /* the baud switch failed */
    REC_CLASS_FLASH,        /* no flash chip / could not attach it */
    REC_CLASS_WRITE,        /* writing an image failed */
    REC_CLASS_VERIFY,       /* flash MD5 differs from the image's */
    REC_CLASS_BOOT_CHECK,   /* the app's output failed the accept: check */
    REC_CLASS_PORT_LOST,    /* the port vanished during the unit */
    REC_CLASS_CANCELLED,    /* the operator (or SIGINT) cancelled */
    REC_CLASS_INTERNAL,     /* anything else */
    REC_CLASS_COUNT
};

const char *rec_class_name(enum rec_class c);     /* "no-sync", "" for NONE */
int rec_class_parse(const char *s, enum rec_class *out);

enum rec_action {
    REC_WRITTEN,            /* written and verified */
    REC_UNCHANGED,          /* flash MD5 already matched: skipped */
    REC_FAILED,             /* write or verify failed, or cut short */
    REC_NOT_WRITTEN,        /* not reached */
};

const char *rec_action_name(enum rec_action a);

struct rec_image {
    char name[32];
    uint32_t offset;
    uint32_t size;
    char sha256[65];        /* hex */
    enum rec_action action;
    unsigned recoveries;    /* recoveries from write errors (engine) */
    unsigned resent;        /* damaged data blocks sent again (engine) */
};

/* One record: one attempt at one unit. */
struct rec_unit {
    int schema;                 /* REC_SCHEMA */
    char id[33];                /* random 128-bit hex, unique per record */
    char unit[16];              /* the unit id: MAC as 12 hex digits, "" unknown */
    int64_t start_ms, end_ms;   /* UTC, ms since the epoch */
    char station[64];
    char operator_name[64];
    char slot[32];
    char port[256];             /* as configured: URL or usb-path:/usb-serial: */
    char device[256];           /* the local device node it used, "" none */
    char usb[96];               /* its USB identity ("usb-path:1-1.4",
                                   "usb-serial:X"), "" when not USB */
    char profile_name[128];
    char profile_path[512];
    char profile_sha256[65];
    char images_sha256[65];     /* SHA-256 over every image's offset and
                                   SHA-256: the flash contents written */
    struct rec_image images[ENGINE_MAX_IMAGES];
    size_t n_images;
    char chip[16];              /* "esp32c3", "" unknown */
    char chip_display[48];
    int revision;               /* major*100+minor, -1 unknown */
    uint8_t mac[6];
    bool have_mac;
    uint32_t flash_id;
    uint32_t flash_size;
    int crystal_mhz;
    uint32_t baud;
    bool stub;
    double t_connect, t_flash, t_boot, t_total;  /* seconds per phase */
    unsigned retries;           /* earlier attempts at this unit (this run) */
    unsigned recoveries;        /* write recoveries over all images */
    unsigned resent;            /* damaged blocks sent again, all images */
    char boot[16];              /* "pass", "fail", "timeout", "skipped" */
    char boot_line[240];        /* the line that decided the boot check */
    bool pass;
    enum rec_class cls;
    char message[ED_ERRMSG_MAX];
    char version[32];           /* espdeck version */
};

/* One malloc'd line "{...}\n" (caller frees); NULL on no memory. */
char *rec_to_json(const struct rec_unit *u);
/* Parse one line (without its newline).  ED_OK, or ED_ERR_PROTO when it is
 * not a record of a schema we read. */
int rec_from_json(struct rec_unit *u, const char *line, size_t len);

/*
 * "$XDG_DATA_HOME/espdeck/records/<profile name>.jsonl" (XDG default
 * ~/.local/share); characters other than [A-Za-z0-9._-] in the name become
 * '-'.  ED_OK or ED_ERR_NOT_FOUND (no HOME).
 */
int records_default_path(char *out, size_t len, const char *profile_name);

struct records;

/*
 * Open (create, with its folders) path for appending and scan it: counts
 * valid and bad lines, remembers which units passed under which profile
 * hash, and ends a torn last line with a newline.  notice gets a sentence
 * when something was repaired or skipped ("" otherwise).  On failure *out is
 * NULL and err says why and what to do (ED_ERR_PERM, ED_ERR_IO).
 */
int records_open(struct records **out, const char *path, char *notice,
                 size_t noticelen, char *err, size_t errlen);
/* Append one record (one write, then fsync).  ED_OK or ED_ERR_IO with err. */
int records_append(struct records *r, const struct rec_unit *u, char *err,
                   size_t errlen);
/*
 * Does unit (12 hex digits) have a PASS record for this profile (the same
 * profile file and the same images)?  Reads what other writers appended
 * since the last look first.
 */
bool records_has_pass(struct records *r, const char *unit,
                      const char *profile_sha256, const char *images_sha256);
const char *records_path(const struct records *r);
void records_close(struct records *r);   /* NULL is fine */

/*
 * Call fn for every valid record of path, in file order (fn returns 0 to go
 * on).  *bad gets the number of lines skipped (torn or not a record).
 * ED_OK, or ED_ERR_NOT_FOUND / ED_ERR_IO with err.
 */
int records_read(const char *path,
                 int (*fn)(void *ctx, const struct rec_unit *u), void *ctx,
                 unsigned *bad, char *err, size_t errlen);

/* ---- counting: the same for the live bench and `espdeck records` ---- */

struct rec_stats {
    unsigned records;           /* attempts */
    unsigned units;             /* distinct units (a record without a MAC is
                                   a unit of its own) */
    unsigned pass;              /* units whose latest record passed */
    unsigned fail;              /* units whose latest record failed */
    unsigned first_pass;        /* units that passed at their first record */
    double first_pass_yield;    /* first_pass / units (0 when no units) */
    double units_per_hour;      /* units / (last end - first start) */
    double median_cycle_s;      /* median of end - start over records */
    unsigned by_class[REC_CLASS_COUNT];  /* failed records per class */
};

struct rec_tally;

int rec_tally_new(struct rec_tally **out);
void rec_tally_free(struct rec_tally *t);
int rec_tally_add(struct rec_tally *t, const struct rec_unit *u);
void rec_tally_stats(const struct rec_tally *t, struct rec_stats *out);

#endif
