/*
 * cmd_sim.c - `espdeck sim --chip CHIP --listen URL [options]`: run a
 * simulated board on a TCP port (RFC 2217 or raw) or a pty, until SIGINT
 * or SIGTERM; the flash file (if any) is written back on the way out.
 *
 * Prints one line to stderr once it listens:
 *   espdeck sim: ESP32 on rfc2217://127.0.0.1:4000 (flash 4 MiB, MAC ...)
 * Exit codes: 0 after a signal, 2 for a bad command line, 7 when the
 * transport fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "cmd.h"
#include "err.h"
#include "log.h"
#include "sim/sim.h"
#include "sim/sim_chip.h"
#include "sim/sim_internal.h"
#include "sim/sim_server.h"

static void sim_usage(FILE *f)
{
    fprintf(f,
            "usage: espdeck sim --chip CHIP --listen URL [options]\n"
            "  --listen rfc2217://127.0.0.1:PORT | socket://127.0.0.1:PORT |"
            " pty:PATH\n"
            "  --flash-size SIZE     4MB (default), 1MB .. 128MB\n"
            "  --flash-file FILE     keep the flash in FILE across runs\n"
            "  --mac MAC             aa:bb:cc:dd:ee:ff\n"
            "  --boot normal|download  power-up mode without modem lines "
            "(default download)\n"
            "  --no-pacing           deliver bytes at once, not at the baud"
            " rate\n"
            "  --chip-rev X.Y        eFuse chip revision (defaults: "
            "docs/simulator.md)\n"
            "  --xtal MHZ            crystal: 26 or 40 (ESP32, ESP32-C2), "
            "40 or 48 (ESP32-C5)\n"
            "  --flash-id ID         JEDEC id the flash answers (0xffffff ="
            " no flash)\n"
            "  --ck8m-drift PCT      ESP32: its 8 MHz clock's drift, -20 to "
            "20 (default 1.5):\n"
            "                        the ROM's CHANGE_BAUDRATE is off by as "
            "much\n"
            "  --adapter NAME        USB-serial adapter (cp2102, cp2102n, "
            "cp2104, ch340, ch343,\n"
            "                        ch9102, ft232r): garbles above its "
            "maximum baud;\n"
            "                        usb-serial-jtag: the chip's own USB "
            "(S3, C3, C6, H2, C5, P4)\n"
            "  --max-baud N          the same with a maximum of N baud\n"
            "  --usb-rate B          USB-Serial/JTAG bytes per second "
            "(default 1216000)\n"
            "  --fault SPEC          a faulty line: h2b:flip=1e-4,b2h:drop="
            "1e-5,\n"
            "                        stall=5s@200000,cut@300000,seed=7 "
            "(docs/simulator.md)\n"
            "  --trace FILE          hex trace of every frame\n"
            "  --units auto|N        a fixture: units come and go, each "
            "with the next MAC\n"
            "  --arrive T --leave T --stay T   its schedule (500ms, 1.5s, "
            "60s; cmd = on command)\n"
            "  --faults N:KIND,...   per-unit faults: panic, nosync, verify,"
            " vanish\n"
            "  --cycle N             the fault list repeats every N units\n"
            "  --hotplug 0|1         an absent unit has no port\n"
            "  --control FIFO        fixture commands, one a line: arrive, "
            "leave, fault KIND\n"
            "  --bind-any            allow a non-loopback listen address\n"
            "  -v, --verbose         log connections and negotiation\n"
            "chips:");
    for (size_t i = 0; i < sim_chip_count(); i++)
        fprintf(f, " %s", sim_chip_at(i)->name);
    fprintf(f, "\n");
}

static void sim_stderr_sink(void *ctx, enum log_level level,
                            const char *msg)
{
    (void)ctx;
    fprintf(stderr, "espdeck sim: %s%s\n",
            level <= ED_LOG_WARN ? "warning: " : "", msg);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "espdeck sim: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (espdeck sim --help lists the options and chips)\n");
    return EXIT_USAGE;
}

int cmd_sim(int argc, char **argv)
{
    struct sim_config cfg;
    struct sim_server_config scfg;
    struct sim *sim = NULL;
    struct sim_server *srv = NULL;
    const char *listen_url = NULL, *control = NULL, *v;
    char err[ED_ERRMSG_MAX];
    sigset_t mask, old;
    int sfd = -1, cfd = -1, rc = EXIT_OK_, i;
    bool verbose = false;
    const uint8_t *mac;
    size_t fsize;

    memset(&cfg, 0, sizeof cfg);
    memset(&scfg, 0, sizeof scfg);
    for (i = 1; i < argc; i++) {
        bool missing = false;
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            sim_usage(stdout);
            return EXIT_OK_;
        } else if ((v = batch_opt(argc, argv, &i, "--chip", &missing))) {
            if (!sim_chip_find(v))
                return usage_error("unknown chip '%s'", v);
            cfg.chip = v;
        } else if ((v = batch_opt(argc, argv, &i, "--listen", &missing))) {
            listen_url = v;
        } else if ((v = batch_opt(argc, argv, &i, "--flash-size", &missing))) {
            if (sim_server_parse_size(v, &cfg.flash_size) != ED_OK)
                return usage_error("--flash-size '%s' is not a size like "
                                   "4MB", v);
        } else if ((v = batch_opt(argc, argv, &i, "--flash-file", &missing))) {
            cfg.flash_file = v;
        } else if ((v = batch_opt(argc, argv, &i, "--mac", &missing))) {
            if (sim_server_parse_mac(v, cfg.mac) != ED_OK)
                return usage_error("--mac '%s' is not a MAC address like "
                                   "24:0a:c4:00:00:01", v);
            cfg.mac_set = true;
        } else if ((v = batch_opt(argc, argv, &i, "--boot", &missing))) {
            if (!strcmp(v, "normal"))
                cfg.boot_normal = true;
            else if (!strcmp(v, "download"))
                cfg.boot_normal = false;
            else
                return usage_error("--boot takes normal or download, not "
                                   "'%s'", v);
        } else if ((v = batch_opt(argc, argv, &i, "--chip-rev",
                                  &missing)) ||
                   (v = batch_opt(argc, argv, &i, "--xtal", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "--flash-id", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "--ck8m-drift",
                                  &missing)) ||
                   (v = batch_opt(argc, argv, &i, "--fault", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "--adapter", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "--max-baud", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "--usb-rate", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "--units", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "--arrive", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "--leave", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "--stay", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "--faults", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "--cycle", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "--hotplug", &missing))) {
            char name[16];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(a + 2, "="),
                     a + 2);
            if (sim_config_option(&cfg, name, v, err, sizeof err) != ED_OK)
                return usage_error("%s", err);
        } else if ((v = batch_opt(argc, argv, &i, "--trace", &missing))) {
            cfg.trace_path = v;
        } else if ((v = batch_opt(argc, argv, &i, "--control", &missing))) {
            control = v;
        } else if (!strcmp(a, "--no-pacing")) {
            cfg.no_pacing = true;
        } else if (!strcmp(a, "--bind-any")) {
            scfg.bind_any = true;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            verbose = true;
        } else if (missing) {
            return usage_error("%s needs a value", a);
        } else {
            return usage_error("unknown option '%s'", a);
        }
        if (missing)
            return usage_error("%s needs a value", a);
    }
    if (!cfg.chip)
        return usage_error("%s", "--chip is required (e.g. --chip esp32)");
    if (!listen_url)
        return usage_error("%s", "--listen is required (e.g. --listen "
                                 "rfc2217://127.0.0.1:4000)");

    cfg.log.write = sim_stderr_sink;
    cfg.log.max_level = verbose ? ED_LOG_DEBUG : ED_LOG_WARN;
    scfg.log = cfg.log;
    scfg.log.max_level = verbose ? ED_LOG_DEBUG : ED_LOG_WARN;
    scfg.listen = listen_url;

    /* Signals arrive on a descriptor the server polls: no handler, no
     * global flag.  Blocked from here on, so a signal during start-up
     * waits for the loop instead of killing us with the flash unsaved. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, &old);
    signal(SIGPIPE, SIG_IGN);

    if (control) {
        /* A FIFO we hold open read-write never reports end of file, so
         * any number of writers may come and go (echo arrive > FIFO). */
        if (mkfifo(control, 0600) != 0 && errno != EEXIST) {
            fprintf(stderr, "espdeck sim: cannot create the control FIFO "
                            "%s: %s\n", control, strerror(errno));
            rc = EXIT_USAGE;
            goto out;
        }
        cfd = open(control, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (cfd < 0) {
            fprintf(stderr, "espdeck sim: cannot open the control FIFO %s: "
                            "%s\n", control, strerror(errno));
            rc = EXIT_USAGE;
            goto out;
        }
        scfg.control = true;
        scfg.control_fd = cfd;
    }
    if (sim_new(&sim, &cfg, err, sizeof err) != ED_OK) {
        fprintf(stderr, "espdeck sim: %s\n", err);
        rc = EXIT_USAGE;
        goto out;
    }
    if (sim_server_new(&srv, sim, &scfg, err, sizeof err) != ED_OK) {
        fprintf(stderr, "espdeck sim: %s\n", err);
        rc = EXIT_USAGE;
        goto out;
    }

    sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0) {
        fprintf(stderr, "espdeck sim: signalfd: %s\n", strerror(errno));
        rc = EXIT_INTERNAL;
        goto out;
    }

    mac = sim_mac(sim);
    sim_flash(sim, &fsize);
    if (fsize >= (1u << 20))
        fprintf(stderr, "espdeck sim: %s on %s (flash %zu MiB, MAC "
                "%02x:%02x:%02x:%02x:%02x:%02x)\n",
                sim_chip_of(sim)->display, sim_server_url(srv), fsize >> 20,
                mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    else
        fprintf(stderr, "espdeck sim: %s on %s (flash %zu KiB, MAC "
                "%02x:%02x:%02x:%02x:%02x:%02x)\n",
                sim_chip_of(sim)->display, sim_server_url(srv), fsize >> 10,
                mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    fflush(stderr);

    if (sim_server_run(srv, sfd, err, sizeof err) != ED_OK) {
        fprintf(stderr, "espdeck sim: %s\n", err);
        rc = EXIT_INTERNAL;
    }
out:
    sim_server_free(srv);
    if (cfd >= 0)
        close(cfd);
    if (sim && cfg.flash_file && sim_save(sim) != ED_OK) {
        fprintf(stderr, "espdeck sim: could not save the flash to %s\n",
                cfg.flash_file);
        rc = EXIT_INTERNAL;
    }
    sim_free(sim);
    if (sfd >= 0) {
        /* Take the signal that stopped us, so unblocking does not kill
         * the process on its way out. */
        struct signalfd_siginfo si;
        int fl = fcntl(sfd, F_GETFL);
        fcntl(sfd, F_SETFL, fl | O_NONBLOCK);
        while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
            ;
        close(sfd);
    }
    /* The signals stay blocked: the process ends right after this, and
     * one more ^C now must not cut the exit short. */
    (void)old;
    return rc;
}
