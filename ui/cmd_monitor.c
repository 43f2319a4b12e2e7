/*
 * cmd_monitor.c - `espdeck monitor --port URL [--baud N]`: the console's
 * serial monitor alone (no flashing, no reset on open).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "console.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: espdeck monitor --port URL [--baud N]\n"
               "Shows the target's output; F1 lists the keys, q quits.\n");
}

int cmd_monitor(int argc, char **argv)
{
    struct console_opts o;
    int i;

    memset(&o, 0, sizeof o);
    o.monitor_only = true;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if ((!strcmp(a, "--port") || !strcmp(a, "-p")) && i + 1 < argc) {
            o.port = argv[++i];
        } else if (!strncmp(a, "--port=", 7)) {
            o.port = a + 7;
        } else if ((!strcmp(a, "--baud") || !strcmp(a, "-b")) &&
                   i + 1 < argc) {
            char *end;
            unsigned long b = strtoul(argv[++i], &end, 10);

            if (*end || b < 300 || b > 12000000) {
                fprintf(stderr, "espdeck: bad baud rate '%s' (a number such "
                                "as 115200)\n", argv[i]);
                return EXIT_USAGE;
            }
            o.monitor_baud = (uint32_t)b;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return EXIT_OK_;
        } else {
            fprintf(stderr, "espdeck: unknown monitor argument '%s'\n", a);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!o.port) {
        fprintf(stderr, "espdeck: monitor needs a port: add --port URL "
                        "(/dev/ttyUSB0, socket://HOST:PORT, sim:esp32)\n");
        return EXIT_USAGE;
    }
    return console_run(&o);
}
