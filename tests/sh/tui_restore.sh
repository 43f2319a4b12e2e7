#!/bin/bash
# The console leaves the terminal usable on every way out: a crash
# (SIGSEGV, SIGABRT: the handlers call endwin and re-raise), SIGTERM (a
# clean quit); and it draws in plain ASCII without colour when the locale
# is not UTF-8 and NO_COLOR is set.  Driven through tmux.
source tests/lib.sh
REPO=$PWD

if ! command -v tmux >/dev/null 2>&1; then
    skip "tui_restore: tmux is not installed (make deps)"
    exit 0
fi
WAIT=${TUI_WAIT:-60}
SOCK=espdeck-test-$$
export HOME=$TMP/home
mkdir -p "$HOME"
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
trap 'tm kill-server 2>/dev/null; t_cleanup' EXIT INT TERM

"$ESPDECK" demo --images "$REPO/build/demo" ||
    { notok "tui_restore: demo images"; exit 1; }

# Sanitizers report the deliberate crashes: into files, not the screen.
SAN_ENV="TSAN_OPTIONS=log_path=$TMP/san ASAN_OPTIONS=log_path=$TMP/san UBSAN_OPTIONS=log_path=$TMP/san"
open() { # NAME LANG [extra env]
    tm new-session -d -s "$1" -x 100 -y 30 \
        "env -i PATH=\"$PATH\" HOME=\"$HOME\" TERM=xterm-256color LANG=$2 LC_ALL=$2 $3 $SAN_ENV PS1='PROMPT\$ ' bash --norc --noprofile"
    tm send-keys -t "$1" "cd '$REPO'" Enter
}
# wait_re NAME REGEX
wait_re() {
    local i=0 lim=$((WAIT * 5))
    while [ $i -lt $lim ]; do
        screen "$1" | grep -qE -- "$2" && return 0
        sleep 0.2
        i=$((i + 1))
    done
    screen "$1" >&2
    return 1
}
prompt_back() { screen "$1" | sed '/^ *$/d' | tail -1 | grep -q '^PROMPT\$'; }
# the pid of the program the pane's shell is running
child_pid() { pgrep -P "$(tm display -p -t "$1" '#{pane_pid}')" | head -1; }
modes_sane() { # NAME
    tm send-keys -t "$1" "clear; stty -a | tr ' ' '\n' | grep -E '^-?(icanon|echo)\$' | tr '\n' ' '; echo" Enter
    sleep 0.5
    wait_for "$1" "icanon echo" >/dev/null
}

# A console that sits still: the error screen of a profile that fails.
printf 'name: broken\nchip: esp33\n' > "$TMP/bad.yaml"

for sig in SEGV ABRT; do
    open "$sig" C.UTF-8
    run "$sig" "\"$ESPDECK\" '$TMP/bad.yaml'"
    if wait_for "$sig" "q to quit"; then
        pid=$(child_pid "$sig")
        kill -"$sig" "$pid"
        if wait_re "$sig" '^EXIT=[0-9]' && prompt_back "$sig"; then
            ok "tui_restore: SIG$sig restores the screen, the prompt is back"
        else
            notok "tui_restore: SIG$sig restores the screen, the prompt is back"
        fi
        if modes_sane "$sig"; then
            ok "tui_restore: SIG$sig leaves icanon and echo on"
        else
            notok "tui_restore: SIG$sig leaves icanon and echo on"
        fi
    else
        notok "tui_restore: SIG$sig restores the screen, the prompt is back"
    fi
    tm kill-session -t "$sig"
done

open term C.UTF-8
run term "\"$ESPDECK\" '$TMP/bad.yaml'"
if wait_for term "q to quit"; then
    kill -TERM "$(child_pid term)"
    if wait_for term "EXIT=3" && modes_sane term; then
        ok "tui_restore: SIGTERM quits cleanly (exit 3 for the bad profile)"
    else
        notok "tui_restore: SIGTERM quits cleanly (exit 3 for the bad profile)"
    fi
else
    notok "tui_restore: SIGTERM quits cleanly (exit 3 for the bad profile)"
fi
tm kill-session -t term

# ASCII and no colour: C locale, NO_COLOR
open ascii C NO_COLOR=1
run ascii "\"$ESPDECK\" profiles/demo.yaml --port 'sim:esp32?pacing=0' --no-monitor"
if wait_for ascii "images written and verified" && wait_for ascii "+ log -"; then
    s=$(screen ascii)
    if echo "$s" | LC_ALL=C grep -q '[^ -~]'; then
        echo "$s" >&2
        notok "tui_restore: C locale draws plain ASCII"
    else
        ok "tui_restore: C locale draws plain ASCII"
    fi
else
    notok "tui_restore: C locale draws plain ASCII"
fi
tm send-keys -t ascii q
wait_for ascii "EXIT=0" >/dev/null &&
    ok "tui_restore: ASCII console quits with 0" ||
    notok "tui_restore: ASCII console quits with 0"
tm kill-session -t ascii
exit 0
