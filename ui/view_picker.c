/*
 * view_picker.c - a full-screen list to choose a profile or a port.
 */
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "keys.h"
#include "view.h"

static void draw(const char *title, const struct view_pick_item *items,
                 size_t n, size_t sel, size_t *first, const char *note,
                 bool can_back, const char *typed_what, const char *line)
{
    int h = LINES, w = COLS, rows, y, lw = 0;
    size_t i;
    char right[64];

    erase();
    view_put(0, 1, w - 2, TERM_TITLE, "espdeck");
    view_put(1, 1, w - 2, TERM_DIM, title);
    rows = h - 5 - (note ? 1 : 0);
    if (rows < 1)
        rows = 1;
    if (sel < *first)
        *first = sel;
    if (sel >= *first + (size_t)rows)
        *first = sel - (size_t)rows + 1;
    snprintf(right, sizeof right, "%zu of %zu", n ? sel + 1 : 0, n);
    view_box(2, 0, rows + 2, w, title, right, TERM_TITLE);
    for (i = 0; i < n; i++)
        if (view_width(items[i].label) > lw)
            lw = view_width(items[i].label);
    if (lw > w * 6 / 10)
        lw = w * 6 / 10;
    for (i = *first, y = 3; i < n && y < 3 + rows; i++, y++) {
        enum term_role role = i == sel ? TERM_SELECTED : TERM_NORMAL;

        if (i == sel) {
            attrset(term_attr(TERM_SELECTED));
            mvhline(y, 1, ' ', w - 2);
            attrset(A_NORMAL);
        }
        view_put(y, 2, lw, role, items[i].label);
        view_put(y, 4 + lw, w - 6 - lw,
                 i == sel ? TERM_SELECTED : TERM_DIM, items[i].detail);
    }
    if (!n)
        view_put(3, 2, w - 4, TERM_WARN, "nothing to choose from");
    if (note)
        view_put(h - 2, 1, w - 2, TERM_WARN, note);
    if (line) {
        char prompt[320];

        snprintf(prompt, sizeof prompt, "type %s: %s_", typed_what, line);
        view_put(h - 1, 1, w - 2, TERM_NORMAL, prompt);
    } else {
        char keys[160];

        snprintf(keys, sizeof keys, "Up/Down choose   Enter start%s%s   "
                 "%sq quit", typed_what ? "   / type " : "",
                 typed_what ? typed_what : "", can_back ? "Esc back   " : "");
        view_put(h - 1, 1, w - 2, TERM_DIM, keys);
    }
    wnoutrefresh(stdscr);
    doupdate();
}

int view_pick(const char *title, const struct view_pick_item *items,
              size_t n, size_t selected, const char *note)
{
    return view_pick_ex(title, items, n, selected, note, false, NULL, NULL,
                        0);
}

int view_pick_ex(const char *title, const struct view_pick_item *items,
                 size_t n, size_t selected, const char *note, bool can_back,
                 const char *typed_what, char *typed, size_t typedlen)
{
    size_t sel = selected < n ? selected : 0, first = 0, tl = 0;
    bool typing = false;
    int ch;

    for (;;) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};

        draw(title, items, n, sel, &first, note, can_back,
             typed && typedlen ? typed_what : NULL, typing ? typed : NULL);
        poll(&pfd, 1, 1000);
        if (term_quit_requested())
            return VIEW_PICK_QUIT;
        while ((ch = getch()) != ERR) {
            if (typing) {
                /* the line: printable bytes, Backspace, Enter, Esc */
                if (ch == '\r' || ch == '\n' || ch == KEY_ENTER) {
                    if (tl)
                        return VIEW_PICK_TYPED;
                } else if (ch == 27) {
                    typing = false;
                } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
                    if (tl)
                        typed[--tl] = '\0';
                } else if (ch == UI_CTRL('c')) {
                    return VIEW_PICK_QUIT;
                } else if (ch >= 0x20 && ch < 0x7f && tl + 1 < typedlen) {
                    typed[tl++] = (char)ch;
                    typed[tl] = '\0';
                }
                continue;
            }
            switch (ch) {
            case '/':
                if (typed && typedlen) {
                    typing = true;
                    tl = 0;
                    typed[0] = '\0';
                }
                break;
            case KEY_UP:
            case 'k':
                if (sel > 0)
                    sel--;
                break;
            case KEY_DOWN:
            case 'j':
                if (sel + 1 < n)
                    sel++;
                break;
            case KEY_HOME:
                sel = 0;
                break;
            case KEY_END:
                sel = n ? n - 1 : 0;
                break;
            case KEY_PPAGE:
                sel = sel > 10 ? sel - 10 : 0;
                break;
            case KEY_NPAGE:
                sel = sel + 10 < n ? sel + 10 : (n ? n - 1 : 0);
                break;
            case '\r':
            case '\n':
            case KEY_ENTER:
                if (n)
                    return (int)sel;
                break;
            case 27:
                return can_back ? VIEW_PICK_BACK : VIEW_PICK_QUIT;
            case 'q':
            case UI_CTRL('c'):
            case UI_CTRL(']'):
                return VIEW_PICK_QUIT;
            default:
                break;
            }
        }
    }
}
