/*
 * keys.h - every console key, once.
 *
 * One X-macro table: the console dispatches keys through it and the help
 * screen and the key bar are drawn from it, so they cannot disagree.
 *   X(action, key, key2, label, where, bar, name, help)
 * key/key2: curses key codes (0 = none); UI_CHORD(c) is "Ctrl-T, then c".
 * where: the screens and states in which the key works (UI_IN_*): the
 * console passes the one that holds now, so the key bar shows only the
 * keys that apply now (no "c cancel" once the job is over).
 * bar: shown in the key bar (1) or only in the help (0); name: its
 * word in the key bar.
 */
#ifndef ED_KEYS_H
#define ED_KEYS_H

#include <curses.h>

#define UI_CTRL(c) ((c) & 0x1f)
#define UI_CHORD_PREFIX UI_CTRL('t')
#define UI_CHORD(c) (0x100000 | (c))

#define UI_IN_FLASH 1   /* panes, while flashing */
#define UI_IN_MON 2     /* split view and monitor-only */
#define UI_IN_OVER 4    /* panes, the job is over (done, failed, cancelled) */
#define UI_IN_STOPPING 8 /* panes, a cancel asked for, not yet done */
#define UI_IN_ALL 15

#define UI_IN_PANES (UI_IN_FLASH | UI_IN_OVER | UI_IN_STOPPING)

/*
 * Focus: while the monitor shows (UI_IN_MON) it has the keyboard, as in
 * idf monitor: every key that types something (letters, digits, Enter,
 * Backspace, Tab, Esc, the Ctrl keys, arrows, Home/End, Delete) goes to the
 * target; only Ctrl-] (quit), Ctrl-T (the menu key: the next key is a
 * command), F1 and PgUp/PgDn stay with the console.  On the image panes
 * the single-letter keys are the console's own.
 */
#define UI_KEYS(X)                                                            \
    X(UI_ACT_HELP, KEY_F(1), '?', "F1",                                       \
      UI_IN_ALL, 1, "help",                                                   \
      "help: this list of keys (also ? on the panes, Ctrl-T H)")              \
    X(UI_ACT_QUIT, 'q', UI_CTRL(']'), "q",                                    \
      UI_IN_PANES, 1, "quit",                                                 \
      "quit (also Ctrl-]; asks while flashing)")                              \
    X(UI_ACT_QUIT_MON, UI_CTRL(']'), 0, "Ctrl-]",                             \
      UI_IN_MON, 1, "quit",                                                   \
      "quit")                                                                 \
    X(UI_ACT_TYPE, 0, 0, "other keys",                                        \
      UI_IN_MON, 0, "",                                                       \
      "typed to the target; Enter sends CR LF (--eol)")                       \
    X(UI_ACT_SEND_T, UI_CHORD(UI_CTRL('t')), 0, "Ctrl-T Ctrl-T",              \
      UI_IN_MON, 0, "send Ctrl-T",                                            \
      "send a literal Ctrl-T to the target")                                  \
    X(UI_ACT_CANCEL, 'c', 0, "c",                                             \
      UI_IN_FLASH, 1, "cancel",                                               \
      "cancel flashing (asks first)")                                         \
    X(UI_ACT_RETRY, 'r', KEY_F(5), "r",                                       \
      UI_IN_OVER, 1, "retry",                                                 \
      "after a failure: try again, same port and profile (also F5)")          \
    X(UI_ACT_RESET, UI_CHORD('r'), UI_CHORD(UI_CTRL('r')), "Ctrl-T R",        \
      UI_IN_MON, 1, "reset",                                                  \
      "reset the target (hard reset into the app)")                           \
    X(UI_ACT_REFLASH, UI_CHORD('f'), UI_CHORD(UI_CTRL('f')), "Ctrl-T F",      \
      UI_IN_MON, 1, "flash again",                                            \
      "flash again with the same profile")                                    \
    X(UI_ACT_LOGFILE, UI_CHORD('l'), UI_CHORD(UI_CTRL('l')), "Ctrl-T L",      \
      UI_IN_MON, 1, "log file",                                               \
      "log the target's output to a file (on/off)")                           \
    X(UI_ACT_TIME, UI_CHORD('i'), UI_CHORD(UI_CTRL('i')), "Ctrl-T I",         \
      UI_IN_MON, 1, "time",                                                   \
      "timestamps on/off")                                                    \
    X(UI_ACT_WRAP, UI_CHORD('w'), UI_CHORD(UI_CTRL('w')), "Ctrl-T W",         \
      UI_IN_MON, 0, "wrap",                                                   \
      "long lines: wrap (the default) or cut at the pane's edge")             \
    X(UI_ACT_BAUD, UI_CHORD('b'), UI_CHORD(UI_CTRL('b')), "Ctrl-T B",         \
      UI_IN_MON, 0, "baud",                                                   \
      "change the monitor's baud rate (type it, Enter)")                      \
    X(UI_ACT_HELP_MON, UI_CHORD('h'), UI_CHORD(UI_CTRL('h')), "Ctrl-T H",     \
      UI_IN_MON, 0, "help",                                                   \
      "help (as F1)")                                                         \
    X(UI_ACT_PAUSE, UI_CHORD(' '), 0, "Ctrl-T space",                         \
      UI_IN_MON, 0, "pause",                                                  \
      "pause/resume auto-scroll (output keeps buffering)")                    \
    X(UI_ACT_SEARCH, UI_CHORD('/'), 0, "Ctrl-T /",                            \
      UI_IN_MON, 0, "search",                                                 \
      "search the output (Enter to find, Esc to stop)")                       \
    X(UI_ACT_NEXT, UI_CHORD('n'), 0, "Ctrl-T n",                              \
      UI_IN_MON, 0, "next",                                                   \
      "next match (older lines)")                                             \
    X(UI_ACT_PREV, UI_CHORD('N'), 0, "Ctrl-T N",                              \
      UI_IN_MON, 0, "previous",                                               \
      "previous match (newer lines)")                                         \
    X(UI_ACT_PGUP, KEY_PPAGE, 0, "PgUp",                                      \
      UI_IN_MON, 0, "page up",                                                \
      "scroll back one page")                                                 \
    X(UI_ACT_PGDN, KEY_NPAGE, 0, "PgDn",                                      \
      UI_IN_MON, 0, "page down",                                              \
      "scroll forward one page")                                              \
    X(UI_ACT_UP, UI_CHORD(KEY_UP), 0, "Ctrl-T Up",                            \
      UI_IN_MON, 0, "up",                                                     \
      "scroll back one line")                                                 \
    X(UI_ACT_DOWN, UI_CHORD(KEY_DOWN), 0, "Ctrl-T Down",                      \
      UI_IN_MON, 0, "down",                                                   \
      "scroll forward one line")                                              \
    X(UI_ACT_HOME, UI_CHORD(KEY_HOME), 0, "Ctrl-T Home",                      \
      UI_IN_MON, 0, "oldest",                                                 \
      "oldest line kept")                                                     \
    X(UI_ACT_END, UI_CHORD(KEY_END), 0, "Ctrl-T End",                         \
      UI_IN_MON, 0, "newest",                                                 \
      "newest line, follow the output again")                                 \
    X(UI_ACT_REDRAW, UI_CTRL('l'), 0, "Ctrl-L",                               \
      UI_IN_PANES, 0, "redraw",                                               \
      "redraw the screen")                                                    \
    X(UI_ACT_QUIT2, UI_CHORD('x'), UI_CHORD(UI_CTRL('x')), "Ctrl-T X",        \
      UI_IN_MON, 0, "quit",                                                   \
      "quit")

enum ui_action {
    UI_ACT_NONE,
#define UI_KEY_ENUM(a, k, k2, label, where, bar, name, help) a,
    UI_KEYS(UI_KEY_ENUM)
#undef UI_KEY_ENUM
};

struct ui_key {
    enum ui_action action;
    int key, key2;
    const char *label;
    int where;
    int bar;
    const char *name;
    const char *help;
};

static const struct ui_key ui_keys[] = {
#define UI_KEY_ROW(a, k, k2, label, where, bar, name, help)                   \
    {a, k, k2, label, where, bar, name, help},
    UI_KEYS(UI_KEY_ROW)
#undef UI_KEY_ROW
};

#define UI_N_KEYS (sizeof ui_keys / sizeof ui_keys[0])

/* The action for a key on a screen (UI_IN_FLASH or UI_IN_MON). */
static inline enum ui_action ui_key_action(int key, int where)
{
    size_t i;

    for (i = 0; i < UI_N_KEYS; i++)
        if ((ui_keys[i].where & where) && ui_keys[i].key &&
            (ui_keys[i].key == key || (ui_keys[i].key2 && ui_keys[i].key2 == key)))
            return ui_keys[i].action;
    return UI_ACT_NONE;
}

#endif
