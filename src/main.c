/*
 * main.c - espdeck's entry point: pick the subcommand.
 */
#include <locale.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "err.h"
#include "version.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
    {"info", cmd_info, "info --port URL [--before MODE] [--json]   chip, MAC, flash id and size"},
    {"ports", cmd_ports, "ports [--json]                             local serial ports, ESP bridges marked"},
    {"flash", cmd_flash, "flash PROFILE [--port URL] --batch [--json] [--monitor S]   write a profile"},
    {"check", cmd_check, "check PROFILE                              check a profile without a board"},
    {"profile", cmd_profile, "profile import BUILD_DIR [-o FILE]         profile from an ESP-IDF build"},
    {"write-flash", cmd_write_flash, "write-flash [--port URL] ADDR FILE [ADDR FILE ...]   write files, no profile"},
    {"read-flash", cmd_read_flash, "read-flash --port URL ADDR SIZE FILE       read flash to a file"},
    {"erase", cmd_erase, "erase --port URL [ADDR SIZE]               erase all or a region"},
    {"monitor", cmd_monitor, "monitor --port URL [--baud N]              serial monitor only"},
    {"sim", cmd_sim, "sim --chip CHIP --listen URL [...]         run the simulated board"},
    {"bench", cmd_bench, "bench PROFILE [--slot URL]... [--batch] [--units N]   the production loop"},
    {"records", cmd_records, "records FILE [--json | --csv]              summarise a bench's records"},
    {"demo", cmd_demo, "demo                                       the console on the built-in board"},
};

/* esptool's spellings of the same commands. */
static const struct command aliases[] = {
    {"write_flash", cmd_write_flash, NULL},
    {"read_flash", cmd_read_flash, NULL},
    {"erase_flash", cmd_erase, NULL},
    {"erase_region", cmd_erase, NULL},
    {"flash_id", cmd_info, NULL},
    {"chip_id", cmd_info, NULL},
    {"read_mac", cmd_info, NULL},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])
#define N_ALIASES (sizeof aliases / sizeof aliases[0])

/* "unknown command 'flsh'; did you mean 'flash'?" */
static void unknown_command(const char *word)
{
    const char *names[N_COMMANDS + N_ALIASES + 1];
    const char *near;
    size_t i, n = 0;

    for (i = 0; i < N_COMMANDS; i++)
        names[n++] = commands[i].name;
    for (i = 0; i < N_ALIASES; i++)
        names[n++] = aliases[i].name;
    names[n] = NULL;
    near = ed_nearest(word, names);
    if (near)
        fprintf(stderr, "espdeck: unknown command '%s'; did you mean "
                "'%s'? (espdeck --help lists them)\n", word, near);
    else
        fprintf(stderr, "espdeck: unknown command '%s' (espdeck --help "
                "lists them)\n", word);
}

static void usage(FILE *f)
{
    size_t i;
    fprintf(f, "usage: espdeck [PROFILE [--port URL]]\n"
               "       espdeck COMMAND [ARGS]\n\ncommands:\n");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %s\n", commands[i].help);
    fprintf(f, "\nesptool's spellings work too: write_flash, read_flash, "
               "erase_flash, erase_region,\nflash_id, chip_id, read_mac.\n");
    fprintf(f, "\nPorts: /dev/ttyUSB0, socket://HOST:PORT, rfc2217://HOST:PORT, sim:CHIP\n");
}

int main(int argc, char **argv)
{
    size_t i;

#ifdef M_ARENA_MAX
    /* glibc gives each thread that allocates an arena of its own, and each
     * keeps what its engine freed; and its mmap threshold climbs after the
     * first large free, so later image-sized buffers stay in the arenas.
     * A bench of 8 slots held 27 MiB, with two arenas and a fixed
     * threshold 15-16 MiB (tests/bench_slots.sh).  The engine threads
     * mostly wait on their ports: they seldom meet on an arena's lock. */
    mallopt(M_ARENA_MAX, 2);
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    setlocale(LC_ALL, "");
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
                      !strcmp(argv[1], "help"))) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("espdeck %s\n", ESPDECK_VERSION);
        return 0;
    }
    if (argc >= 2) {
        for (i = 0; i < N_COMMANDS; i++)
            if (!strcmp(argv[1], commands[i].name))
                return commands[i].fn(argc - 1, argv + 1);
        for (i = 0; i < N_ALIASES; i++)
            if (!strcmp(argv[1], aliases[i].name))
                return aliases[i].fn(argc - 1, argv + 1);
        if (argv[1][0] != '-' && !strchr(argv[1], '.') && !strchr(argv[1], '/')) {
            unknown_command(argv[1]);
            return EXIT_USAGE;
        }
    }
    return cmd_console(argc, argv);
}
