/*
 * bench_keys.h - every key of the bench screen, once: the loop dispatches
 * through this table and the help screen and key bar are drawn from it.
 *   X(action, key, key2, label, lock, bar, name, help)
 * lock: the key works under the operator lock (--lock): only start, stop
 * and zoom (and help, which changes nothing).
 */
#ifndef ED_BENCH_KEYS_H
#define ED_BENCH_KEYS_H

#include <curses.h>

#define BENCH_KEYS(X)                                                         \
    X(BK_HELP, KEY_F(1), '?', "F1", 1, 1, "help",                             \
      "help: this list of keys (also ?)")                                     \
    X(BK_START, 's', 0, "s", 1, 1, "start",                                   \
      "start: every slot takes units again (key trigger: a board is in)")     \
    X(BK_SLOT, '1', 0, "1-9", 1, 0, "slot",                                   \
      "start that slot (key trigger: its board is in)")                       \
    X(BK_STOP, 'x', 0, "x", 1, 1, "stop",                                     \
      "stop: no new units; the units in progress finish")                     \
    X(BK_ZOOM, 'z', '\r', "z", 1, 1, "zoom",                                  \
      "zoom the selected slot into the single-board view, and back (Enter)") \
    X(BK_NEXT, KEY_RIGHT, '\t', "Tab", 1, 0, "next",                          \
      "select the next slot (arrows move too)")                               \
    X(BK_PREV, KEY_LEFT, KEY_BTAB, "S-Tab", 1, 0, "previous",                 \
      "select the previous slot")                                             \
    X(BK_CANCEL, 'c', 0, "c", 0, 1, "cancel",                                 \
      "cancel the selected slot's unit (recorded as cancelled)")              \
    X(BK_REPROGRAM, 'r', 0, "r", 0, 0, "reprogram",                           \
      "flash the selected slot's unit again although it passed before")       \
    X(BK_UP, KEY_UP, 'k', "Up", 1, 0, "up",                                   \
      "select the slot above; zoomed: scroll the output back")                \
    X(BK_DOWN, KEY_DOWN, 'j', "Down", 1, 0, "down",                           \
      "select the slot below; zoomed: scroll the output forward")             \
    X(BK_QUIT, 'q', 0, "q", 0, 1, "quit",                                     \
      "quit (asks while units are in progress; Ctrl-C also when locked)")

enum bench_key_action {
    BK_NONE,
#define BK_ENUM(a, k, k2, label, lock, bar, name, help) a,
    BENCH_KEYS(BK_ENUM)
#undef BK_ENUM
};

struct bench_key {
    enum bench_key_action action;
    int key, key2;
    const char *label;
    int lock, bar;
    const char *name, *help;
};

static const struct bench_key bench_keys[] = {
#define BK_ROW(a, k, k2, label, lock, bar, name, help)                        \
    {a, k, k2, label, lock, bar, name, help},
    BENCH_KEYS(BK_ROW)
#undef BK_ROW
};

#define BENCH_N_KEYS (sizeof bench_keys / sizeof bench_keys[0])

#endif
