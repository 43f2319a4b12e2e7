/*
 * batch.h - the headless renderer: run one engine job and print its events.
 *
 * Text mode prints the seed's progress lines on stdout ("Connected to
 * target (ESP32, MAC ..., stub)", "Loading bootloader...", "Erasing flash
 * (this may take a while)...", "Start programming", "Progress: 10 %", ...,
 * "Finished programming" or "Skipped NAME: unchanged", "Done!"), warnings
 * and the failure sentence on stderr; then esptool's "Connecting..." (a dot per
 * further attempt), "Wrote N bytes (M compressed) at 0xADDR in X s (R
 * kbit/s)", "Hash of data verified." and a "Summary:" line.  JSON mode prints one JSON object per
 * line per event instead (keys in docs/cli.md).  SIGINT cancels the engine
 * cleanly (exit EXIT_CANCELLED).
 *
 * Used by `espdeck flash --batch`, `read-flash` and `erase` (ui/cmd_*.c).
 * Runs on the calling thread; installs a SIGINT/SIGTERM handler for the
 * duration of batch_run() and restores the previous one.  SIGPIPE is
 * ignored from batch_run() on: when stdout goes away (a closed pipe, a full
 * disk) the job still runs to its end, without a writer for its output, and
 * the exit code is the job's, or BATCH_EXIT_OUTPUT if the job succeeded.
 */
#ifndef ED_BATCH_H
#define ED_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* Exit code (beside cmd.h's): the job succeeded but stdout failed. */
#define BATCH_EXIT_OUTPUT 8
/* Exit code: flashed and verified, but the app failed the boot check. */
#define BATCH_EXIT_BOOT 9

struct accept_rules;

struct batch_opts {
    bool json;
    bool verbose;            /* info-level log lines too */
    double monitor_seconds;  /* > 0: after flashing, print the output this long */
    bool baud_given;         /* --baud was on the command line */
    /* The profile's accept: (with monitor_seconds): monitoring lasts until
     * the boot check decides (at least monitor_seconds); a FAIL verdict
     * exits BATCH_EXIT_BOOT.  NULL: no check. */
    const struct accept_rules *accept;
};

/*
 * Start e (not yet started), print its events until it finishes, and
 * return the process exit code (enum cmd_exit).  Does not free e.
 */
int batch_run(struct engine *e, const struct batch_opts *o);

/*
 * The end of `flash` and `write-flash`: monitor after flashing when
 * o->monitor_seconds > 0, resolve --port auto, make the engine (taking
 * job's images), run it and free it; job is cleared.
 */
int batch_run_job(struct engine_job *job, const struct batch_opts *o);

/*
 * A flash job from profile p (the caller frees it) with the command line's port,
 * --no-stub, --force, --no-compress, --write-retries, --stub-dir and log
 * level from cli.  0, or the exit code after
 * printing the sentence (job then empty).
 */
struct profile;
int batch_profile_job(struct engine_job *job, struct profile *p,
                      const struct engine_job *cli, bool json);

/*
 * The per-user defaults (profile_user_config): the config's port where
 * job->port is "" or "auto", and with use_baud (no profile, or one without
 * baud:) its baud where --baud was not given: command line > profile >
 * config.yaml > built-in.  0, or EXIT_PROFILE after printing the config's
 * error.
 */
int batch_user_config(struct engine_job *job, const struct batch_opts *o,
                      bool use_baud);
/* Read config.yaml into cfg: 0, or EXIT_PROFILE after printing its error
 * (as JSON with json). */
struct profile_user_config;
int batch_load_user_config(struct profile_user_config *cfg, bool json);

/* Exit code for a finished job's status and stage (docs/cli.md). */
int batch_exit_code(int status, enum engine_state stage);

/*
 * Options shared by flash, read-flash and erase: --port URL, --baud N,
 * --before M (a mode, or a custom sequence into job->reset_seq), --after M,
 * --no-stub, --stub-dir DIR, --json, -v/--verbose.
 * Looks at argv[*i]; on a match consumes it (and its value) and returns 1,
 * 0 if it is not one of these, or -1 after printing a usage error.
 */
int batch_common_option(int argc, char **argv, int *i, struct engine_job *job,
                        struct batch_opts *o, const char *cmd);

/*
 * Value of "--opt VALUE" or "--opt=VALUE" at argv[*i], stepping *i past a
 * separate value; NULL if argv[*i] is not opt, or (with *missing set) when
 * the separate value is absent.
 */
const char *batch_opt(int argc, char **argv, int *i, const char *opt,
                      bool *missing);

/*
 * The value of --before: an esptool mode name ("default-reset", ...) into
 * *before with seq emptied, or an esptool-style custom sequence
 * ("D0|R1|W0.1|D1|R0|W0.05|D0") into seq (seqlen bytes, as
 * engine_job.reset_seq) with *before set to default-reset.  Returns ED_OK, or
 * ED_ERR_ARG with one sentence in err (a malformed sequence names the bad
 * step; anything else lists the names).
 */
int batch_parse_before(const char *v, enum port_before *before, char *seq,
                       size_t seqlen, char *err, size_t errlen);

/* "0x1000", "4096", "64K", "4M", "4MB" -> value; false if not a number. */
bool batch_parse_u32(const char *s, uint32_t *out);
/* --baud's value: "auto" (ENGINE_BAUD_AUTO) or a rate chip_baud_check()
 * accepts; 0, or -1 after one sentence on stderr ("espdeck CMD: ..."). */
int batch_parse_baud(const char *cmd, const char *v, uint32_t *out);

/*
 * Resolve port "auto" (or "") to the one local serial port with an ESP USB
 * bridge.  Prints the problem and returns false when there is none or more
 * than one.
 */
bool batch_resolve_port(struct engine_job *job, bool json);

/*
 * One engine event as the JSON object of docs/cli.md (name and offset of
 * the image for part events); the caller prints or extends it.  NULL on no
 * memory.  batch_json_print prints one object on one line and frees it.
 */
struct cJSON *batch_event_json(const struct engine_event *ev,
                               const char *name, uint32_t offset);
void batch_json_print(struct cJSON *o);

/*
 * SIGINT/SIGTERM for a headless loop: begin installs the handler (the old
 * ones into *old_*) and ignores SIGPIPE, returning a descriptor that
 * becomes readable at each signal (-1 if none could be made);
 * batch_signals_count drains it and returns how many signals came so far;
 * end restores the handlers.  One headless loop per process at a time.
 */
struct sigaction;
int batch_signals_begin(struct sigaction *old_int, struct sigaction *old_term);
unsigned batch_signals_count(void);
void batch_signals_end(const struct sigaction *old_int,
                       const struct sigaction *old_term);

/* Print a failure that happened before the engine ran (text or JSON). */
void batch_print_error(bool json, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
