/*
 * cmd.h - the espdeck subcommands (one file each, ui/cmd_*.c).
 *
 * Each takes the arguments after its own name (argv[0] is the command name)
 * and returns the process exit code (docs/cli.md lists them).  Only ui/ and
 * src/main.c print.
 */
#ifndef ED_CMD_H
#define ED_CMD_H

/* Exit codes shared by every command. */
enum cmd_exit {
    EXIT_OK_ = 0,
    EXIT_USAGE = 2,        /* bad command line */
    EXIT_PROFILE = 3,      /* profile error */
    EXIT_CONNECT = 4,      /* could not open the port or talk to the chip */
    EXIT_WRITE = 5,        /* write or verify failed */
    EXIT_CANCELLED = 6,    /* cancelled by the user */
    EXIT_INTERNAL = 7,     /* anything else */
};

int cmd_info(int argc, char **argv);
int cmd_ports(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_flash(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_read_flash(int argc, char **argv);
int cmd_write_flash(int argc, char **argv);
int cmd_erase(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_demo(int argc, char **argv);
/* `espdeck bench PROFILE`: the production loop (ui/cmd_bench.c); headless
 * with --batch, else the bench screen. */
int cmd_bench(int argc, char **argv);
/* `espdeck records FILE`: summary or CSV of a bench's records. */
int cmd_records(int argc, char **argv);
/* No subcommand: `espdeck`, or `espdeck PROFILE [--port URL]`. */
int cmd_console(int argc, char **argv);

#endif
