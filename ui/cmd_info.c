/*
 * cmd_info.c - `espdeck info --port URL [--before MODE] [--after MODE]
 *               [--baud N] [--json] [-v]`
 *
 * Connects to the ROM loader, prints chip, MAC, flash JEDEC id and size and
 * the crystal estimate, then resets the board (hard reset by default, as
 * esptool does).  --json prints one object:
 *   {"chip": "ESP32-C3", "mac": "aa:bb:cc:dd:ee:ff", "flash_id": "0x1640c8",
 *    "flash_size": 4194304, "crystal_mhz": 40, "reset": "classic 50 ms",
 *    "revision": "v0.4", "description": "ESP32-C3 (QFN32) (revision v0.4)"}
 * "chip" is the chip table's display name; flash_size, crystal_mhz and
 * revision are null when unknown.  On failure --json prints
 *   {"error": "no reply from the chip on ...", "exit": 4}
 * on stdout as well as the sentence on stderr.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "chip.h"
#include "cmd.h"
#include "loader.h"
#include "log.h"
#include "port.h"
#include "profile.h"

static void info_usage(FILE *f)
{
    fprintf(f, "usage: espdeck info --port URL [--before MODE] "
               "[--after MODE] [--baud N] [--json] [-v]\n"
               "  --before default-reset|usb-reset|no-reset|no-reset-no-sync"
               " (socket:// defaults to no-reset)\n"
               "           or an esptool-style sequence such as "
               "'D0|R1|W0.1|D1|R0|W0.05|D0'\n"
               "  --after hard-reset|soft-reset|no-reset|no-reset-stub|"
               "watchdog-reset (default hard-reset)\n");
}

/* The failure sentence on stderr, and with --json its object on stdout. */
static int info_fail(bool json, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int info_fail(bool json, int code, const char *fmt, ...)
{
    char msg[ED_ERRMSG_MAX + 64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "espdeck: %s\n", msg);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        char *text;

        if (!o)
            return code;
        cJSON_AddStringToObject(o, "error", msg);
        cJSON_AddNumberToObject(o, "exit", code);
        text = cJSON_PrintUnformatted(o);
        if (text)
            printf("%s\n", text);
        free(text);
        cJSON_Delete(o);
        fflush(stdout);
    }
    return code;
}

static void stderr_sink(void *ctx, enum log_level level, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "espdeck: %s%s\n",
            level <= ED_LOG_WARN ? "warning: " : "", msg);
}

int cmd_info(int argc, char **argv)
{
    const char *url = NULL, *before_s = NULL, *after_s = NULL, *v;
    enum port_before before = BEFORE_DEFAULT_RESET;
    enum port_after after = AFTER_HARD_RESET;
    struct log_sink log = {stderr_sink, NULL, ED_LOG_WARN};
    struct port *port = NULL;
    struct loader *l = NULL;
    const struct chip_desc *desc;
    char err[ED_ERRMSG_MAX], reset_used[32] = "", mac_s[18], descr[64];
    char seq[128] = "";
    uint8_t mac[6];
    uint32_t flash_id = 0, flash_size = 0;
    unsigned long baud = 0;
    bool json = false, have_id = false, missing = false, have_rev;
    int crystal = 0, rc, i, ret = EXIT_CONNECT, rev_major, rev_minor;

    /* known before the first error, wherever --json stands */
    for (i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--json"))
            json = true;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            info_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
            log.max_level = log.max_level == ED_LOG_WARN ? ED_LOG_DEBUG
                                                         : ED_LOG_TRACE;
        } else if ((v = batch_opt(argc, argv, &i, "--port", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "-p", &missing))) {
            url = v;
        } else if ((v = batch_opt(argc, argv, &i, "--before", &missing))) {
            before_s = v;
        } else if ((v = batch_opt(argc, argv, &i, "--after", &missing))) {
            after_s = v;
        } else if ((v = batch_opt(argc, argv, &i, "--baud", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "-b", &missing))) {
            char *end;
            baud = strtoul(v, &end, 10);
            if (*end || end == v)
                return info_fail(json, EXIT_USAGE, "--baud takes a rate "
                                 "such as 460800, not '%s'", v);
            if (chip_baud_check(baud > UINT32_MAX ? UINT32_MAX
                                                  : (uint32_t)baud,
                                "--baud", err, sizeof err))
                return info_fail(json, EXIT_USAGE, "%s", err);
        } else {
            if (missing)
                return info_fail(json, EXIT_USAGE, "%s needs a value",
                                 argv[i]);
            return info_fail(json, EXIT_USAGE, "info does not take '%s' "
                             "(espdeck info --help)", argv[i]);
        }
        if (missing)
            return info_fail(json, EXIT_USAGE, "%s needs a value", argv[i]);
    }
    if (!url || !baud) {
        /* the per-user default port and baud */
        static struct profile_user_config cfg;

        if (profile_user_config(&cfg, err, sizeof err) != ED_OK)
            return info_fail(json, EXIT_PROFILE, "%s (your per-user "
                             "defaults)", err);
        if (!url && cfg.port[0])
            url = cfg.port;
        if (!baud)
            baud = cfg.baud;
    }
    if (!url)
        return info_fail(json, EXIT_USAGE, "info needs --port URL (e.g. "
                         "/dev/ttyUSB0, rfc2217://host:port or sim:esp32c3)");
    if (before_s && batch_parse_before(before_s, &before, seq, sizeof seq,
                                       err, sizeof err) != 0)
        return info_fail(json, EXIT_USAGE, "%s", err);
    if (after_s && port_parse_after(after_s, &after) != 0)
        return info_fail(json, EXIT_USAGE, "unknown --after mode '%s' "
                         "(hard-reset, soft-reset, no-reset, no-reset-stub, "
                         "watchdog-reset)", after_s);

    /* a reader gone early must not keep the board from its --after reset */
    signal(SIGPIPE, SIG_IGN);
    rc = port_open(&port, url, LOADER_ROM_BAUD, &log, err, sizeof err);
    if (rc)
        return info_fail(json, EXIT_CONNECT, "%s", err);
    if (!before_s && !port->has_lines)
        before = BEFORE_NO_RESET; /* socket://: no modem lines */
    rc = loader_new(&l, port, &log);
    if (rc) {
        ret = info_fail(json, EXIT_INTERNAL, "out of memory");
        goto out;
    }
    rc = loader_connect(l, before, seq[0] ? seq : NULL, 0, reset_used);
    if (rc) {
        info_fail(json, ret, "%s", loader_errmsg(l));
        goto out;
    }
    desc = chip_get(loader_chip(l));
    if (baud && baud != LOADER_ROM_BAUD &&
        loader_change_baud(l, (uint32_t)baud) != 0) {
        info_fail(json, ret, "%s", loader_errmsg(l));
        goto out;
    }
    if (loader_read_mac(l, mac) != 0) {
        info_fail(json, ret, "reading the MAC address failed: %s",
                  loader_errmsg(l));
        goto out;
    }
    snprintf(mac_s, sizeof mac_s, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0],
             mac[1], mac[2], mac[3], mac[4], mac[5]);
    if (loader_is_stub(l) || loader_flash_attach(l, 0) == 0) {
        if (loader_flash_id(l, &flash_id) == 0) {
            have_id = true;
            flash_size = chip_flash_size_from_id(flash_id);
        }
    }
    if (!have_id)
        fprintf(stderr, "espdeck: warning: could not read the flash id: %s\n",
                loader_errmsg(l));
    if (loader_crystal_mhz(l, &crystal) != 0)
        crystal = 0;
    have_rev = loader_chip_revision(l, &rev_major, &rev_minor) == 0;
    loader_chip_description(l, descr, sizeof descr);

    if (json) {
        cJSON *o = cJSON_CreateObject();
        char idbuf[16], *text;
        cJSON_AddStringToObject(o, "chip", desc->display);
        cJSON_AddStringToObject(o, "mac", mac_s);
        if (have_id) {
            snprintf(idbuf, sizeof idbuf, "0x%06x", flash_id);
            cJSON_AddStringToObject(o, "flash_id", idbuf);
        } else {
            cJSON_AddNullToObject(o, "flash_id");
        }
        if (flash_size)
            cJSON_AddNumberToObject(o, "flash_size", flash_size);
        else
            cJSON_AddNullToObject(o, "flash_size");
        if (crystal)
            cJSON_AddNumberToObject(o, "crystal_mhz", crystal);
        else
            cJSON_AddNullToObject(o, "crystal_mhz");
        cJSON_AddStringToObject(o, "reset", reset_used);
        if (have_rev) {
            char rv[16];
            snprintf(rv, sizeof rv, "v%d.%d", rev_major, rev_minor);
            cJSON_AddStringToObject(o, "revision", rv);
        } else {
            cJSON_AddNullToObject(o, "revision");
        }
        cJSON_AddStringToObject(o, "description", descr);
        text = cJSON_PrintUnformatted(o);
        if (text)
            printf("%s\n", text);
        free(text);
        cJSON_Delete(o);
    } else {
        printf("Chip:        %s%s\n", descr,
               loader_secure_download(l) ? " (Secure Download Mode)" : "");
        printf("MAC:         %s\n", mac_s);
        if (have_id)
            printf("Flash id:    %02x %02x %02x (manufacturer 0x%02x, "
                   "device 0x%02x%02x)\n", flash_id & 0xFF,
                   (flash_id >> 8) & 0xFF, (flash_id >> 16) & 0xFF,
                   flash_id & 0xFF, (flash_id >> 8) & 0xFF,
                   (flash_id >> 16) & 0xFF);
        else
            printf("Flash id:    unknown\n");
        if (flash_size >= (1u << 20))
            printf("Flash size:  %u MiB\n", flash_size >> 20);
        else if (flash_size)
            printf("Flash size:  %u KiB\n", flash_size >> 10);
        else
            printf("Flash size:  unknown\n");
        if (crystal)
            printf("Crystal:     %d MHz\n", crystal);
        else
            printf("Crystal:     unknown\n");
        printf("Reset:       %s\n", reset_used);
    }
    ret = 0;
    errno = 0;
    if (fflush(stdout) == EOF || ferror(stdout)) {
        fprintf(stderr, "espdeck: standard output failed (%s), so what "
                "info found was lost: send it to a file or a reader that "
                "reads it all\n", strerror(errno ? errno : EIO));
        ret = BATCH_EXIT_OUTPUT;
    }
    if (loader_after(l, after) != 0) {
        fprintf(stderr, "espdeck: warning: %s\n", loader_errmsg(l));
    }
out:
    loader_free(l);
    port_close(port);
    return ret;
}
