/*
 * profile.h - board profiles: one YAML file that says what to flash where.
 *
 * A profile names the chip, the port, the serial settings, the flash
 * parameters, a partition layout (from which the partition table binary is
 * generated, or a given table binary, or an ESP-IDF partitions.csv) and the
 * image files.  docs/profiles.md is the schema.
 *
 * Loading checks everything that can be checked before touching a board
 * (overlaps, alignment, sizes, the chip an image was built for, missing
 * files, unknown keys, bad values); each problem carries the file:line:col
 * where libyaml found the offending node.
 *
 * Ownership: a struct profile owns every string and image buffer it hands
 * out; pointers returned by the accessors live until profile_free().
 * Threads: a loaded profile is read-only, so any number of threads may read
 * it at once.  Loading reads the environment (${VAR} expansion) and files.
 */
#ifndef ED_PROFILE_H
#define ED_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chip.h"

struct engine_job;
struct profile;

/*
 * Parse and check a profile file (every check below).  On failure *out is
 * NULL, the return is ED_ERR_PROFILE (or ED_ERR_NOMEM) and err holds the
 * first error as "file:line:col: message".  Warnings do not fail a load.
 */
int profile_load(struct profile **out, const char *path, char *err,
                 size_t errlen);
void profile_free(struct profile *p);

/*
 * Fill a job (call engine_job_init first) from the profile: port, baud,
 * monitor baud, before/after, expect_chip, flash mode/freq/size, and every
 * image (fixed images, the generated or given partition table, partition
 * images) with its data copied, in offset order.  port_override may be NULL.
 * Returns ED_OK, or an error with err set (job then holds no images).
 */
int profile_to_job(const struct profile *p, const char *port_override,
                   struct engine_job *job, char *err, size_t errlen);

/* ---- every problem, for `espdeck check` ---- */

enum profile_severity {
    PROFILE_ERROR,
    PROFILE_WARNING,
};

struct profile_problem {
    enum profile_severity severity;
    int line, col;          /* 1-based; 0 when the problem has no place */
    char message[320];
};

struct profile_report {
    char file[256];         /* the path as given */
    struct profile_problem *items;   /* owned; profile_report_free */
    size_t n;
    size_t n_errors, n_warnings;
};

/*
 * Load and check, collecting every problem (errors and warnings) instead of
 * stopping at the first.  *out is the profile when there are no errors,
 * else NULL (out may be NULL when only the report is wanted).  Returns
 * ED_OK when there are no errors, ED_ERR_PROFILE otherwise, ED_ERR_NOMEM.
 */
int profile_check(struct profile **out, const char *path,
                  struct profile_report *rep);
/*
 * The same for profile text made by a program (`espdeck write-flash`):
 * path names it and its folder is where relative paths start.
 */
int profile_check_text(struct profile **out, const char *path,
                       const char *text, struct profile_report *rep);
void profile_report_free(struct profile_report *rep);
/* "file:line:col: error: message" into buf; returns buf. */
const char *profile_problem_format(const struct profile_report *rep,
                                   const struct profile_problem *pr,
                                   char *buf, size_t len);

/* ---- production bench (bench: and accept:, docs/profiles.md) ---- */

#define PROFILE_MAX_SLOTS 16
#define PROFILE_MAX_PATTERNS 16

struct profile_bench_slot {
    const char *name;       /* "1", "A"; the position when not given */
    const char *port;       /* URL, or "usb-path:1-1.4" / "usb-serial:X" */
};

struct profile_bench {
    bool present;               /* the profile has a bench: section */
    const char *trigger;        /* "key" (default), "probe", "port" */
    int probe_ms;               /* probe_interval (500) */
    const char *records;        /* resolved path, "" = the default */
    const char *station;        /* "" = the host name */
    struct profile_bench_slot slots[PROFILE_MAX_SLOTS];
    size_t n_slots;
};

struct profile_accept {
    bool present;               /* the profile has an accept: section */
    int timeout_ms;             /* 5000 */
    const char *expect[PROFILE_MAX_PATTERNS];   /* POSIX extended regex */
    size_t n_expect;
    const char *reject[PROFILE_MAX_PATTERNS];
    size_t n_reject;
    bool default_rejects;       /* true unless default_rejects: false */
};

const struct profile_bench *profile_bench(const struct profile *p);
const struct profile_accept *profile_accept(const struct profile *p);
/* SHA-256 of the profile file as read, 64 hex digits. */
const char *profile_sha256(const struct profile *p);

/* ---- per-user defaults ---- */

/*
 * $XDG_CONFIG_HOME/espdeck/config.yaml (else ~/.config/espdeck/config.yaml),
 * like esptool.cfg and espflash.toml:
 *   port: /dev/ttyUSB0      # used where no --port and no profile port is given
 *   baud: 460800            # used where neither --baud nor the profile
 *                           # gives one (every command that connects)
 *   records: ~/bench-logs   # the folder for bench records
 * The command line always wins.  A missing file is not an error.
 */
struct profile_user_config {
    char path[512];         /* the file read, "" when there is none */
    char port[256];         /* "" = not set */
    uint32_t baud;          /* 0 = not set */
    char records[512];      /* folder, "" = not set; ~/ expanded */
};

/* ED_OK (also without a file), or ED_ERR_PROFILE with "file:line:col: ..." */
int profile_user_config(struct profile_user_config *out, char *err,
                        size_t errlen);

/* ---- accessors (strings never NULL; "" when absent) ---- */

const char *profile_path(const struct profile *p);   /* as given to load */
const char *profile_name(const struct profile *p);   /* "name:", else file stem */
enum chip_id profile_chip(const struct profile *p);  /* CHIP_UNKNOWN = auto */
const char *profile_chip_name(const struct profile *p); /* "esp32c3" / "auto" */
const char *profile_port(const struct profile *p);   /* "auto" when absent */
/* elf: the app's ELF for panic decoding, resolved against the profile's
 * folder; "" when the profile names none. */
const char *profile_elf(const struct profile *p);
/* The profile's baud:, 0 when it names none (the per-user config's baud,
 * else the port's default: engine.h ENGINE_BAUD_DEFAULT). */
uint32_t profile_baud(const struct profile *p);
/* The file gives baud: (else profile_baud() is 0, and the per-user
 * config's baud goes before the port's default). */
bool profile_baud_set(const struct profile *p);
uint32_t profile_monitor_baud(const struct profile *p);
const char *profile_flash_mode(const struct profile *p);  /* "dio", "keep" */
const char *profile_flash_freq(const struct profile *p);
const char *profile_flash_size(const struct profile *p);  /* "4MB", "detect" */
/* Flash size in bytes when given as a size, else 0 (keep/detect). */
uint32_t profile_flash_bytes(const struct profile *p);

enum profile_region_kind {
    PROFILE_REGION_IMAGE,       /* a fixed image (bootloader, blobs) */
    PROFILE_REGION_TABLE,       /* the partition table itself */
    PROFILE_REGION_PARTITION,   /* a partition of the layout */
};

/*
 * One row of the flash map for display, in offset order: fixed images, the
 * partition table and every partition (with or without an image).
 */
struct profile_region {
    enum profile_region_kind kind;
    const char *name;           /* "bootloader", "partition table", "nvs" */
    const char *type;           /* "app", "data", "" for fixed images */
    const char *subtype;        /* "factory", "nvs", "0x40" (custom), "" */
    uint32_t offset;
    uint32_t size;              /* partition size; image length for images */
    uint32_t flags;             /* partition flags (bit0 encrypted, bit1 readonly) */
    const char *source;         /* image path as written (expanded), "" = none,
                                   "generated from the profile" for a table */
    const char *path;           /* resolved file path, "" if none */
    size_t image_len;           /* bytes to write; 0 = nothing to write */
};

size_t profile_n_regions(const struct profile *p);
/* i < profile_n_regions(p), else NULL. */
const struct profile_region *profile_region(const struct profile *p,
                                            size_t i);
/* Number of images that will be written, and their total bytes. */
size_t profile_n_images(const struct profile *p);
uint64_t profile_write_bytes(const struct profile *p);

#endif
