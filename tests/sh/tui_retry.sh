#!/bin/bash
# The console after a failure (issue 10): the key bar and the error box
# offer `r retry` (F5), which starts a new engine run on the same port and
# profile (here: nothing listens on the socket:// port at first, then a
# simulator does; and a profile that does not fit, fixed before F5); the per-user config.yaml's port reaches the console;
# the quit dialog ends a console that is connecting to a board that never
# answers.  Every wait is bounded (TUI_WAIT, a hang guard, not a speed
# limit).
source tests/lib.sh
REPO=$PWD
if ! command -v tmux >/dev/null 2>&1; then
    skip "tui_retry: tmux is not installed (make deps)"
    exit 0
fi
WAIT=${TUI_WAIT:-60}
SOCK=espdeck-retry-$$
export HOME=$TMP/home XDG_CONFIG_HOME=$TMP/home/.config XDG_STATE_HOME=$TMP/home/.local/state
mkdir -p "$HOME" "$XDG_CONFIG_HOME/espdeck" "$XDG_STATE_HOME"
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
t_cleanup_tmux() { tm kill-server 2>/dev/null; t_cleanup; }
trap 't_cleanup_tmux' EXIT INT TERM
keys() { local n=$1; shift; tm send-keys -t "$n" "$@"; sleep 0.3; }
SAN_ENV="TSAN_OPTIONS=log_path=$TMP/san ASAN_OPTIONS=log_path=$TMP/san UBSAN_OPTIONS=log_path=$TMP/san:print_stacktrace=1"
open() {
    tm new-session -d -s "$1" -x 100 -y 30 \
        "env -i PATH=\"$PATH\" HOME=\"$HOME\" XDG_CONFIG_HOME=\"$XDG_CONFIG_HOME\" XDG_STATE_HOME=\"$XDG_STATE_HOME\" TERM=xterm-256color LANG=C.UTF-8 $SAN_ENV PS1='PROMPT\$ ' bash --norc --noprofile"
    tm send-keys -t "$1" "cd '$REPO'" Enter
}
keybar() { screen "$1" | sed '/^ *$/d' | tail -1; }
"$ESPDECK" demo --images "$REPO/build/demo" >/dev/null ||
    { notok "tui_retry: demo images"; exit 0; }
# the demo profile without a port of its own
sed -e "s|\.\./build/demo|$REPO/build/demo|" -e '/^port:/d' profiles/demo.yaml \
    > "$TMP/board.yaml"
tm new-session -d -s keep -x 80 -y 24 "sleep 100000"

# ---- retry after a failure ----
P=$(free_port)
open r
run r "'$ESPDECK' '$TMP/board.yaml' --port socket://127.0.0.1:$P --no-monitor"
if wait_for r "press r to retry" && { keybar r | grep -q "r retry" || { screen r >&2; false; }; }; then
    ok "tui retry: a failed run offers r retry (error box and key bar)"
else
    notok "tui retry: a failed run offers r retry (error box and key bar)"
fi
"$ESPDECK" sim --chip esp32 --listen "socket://127.0.0.1:$P" --no-pacing \
    2>>"$TMP/sim.err" &
T_PIDS="$T_PIDS $!"
wait_port "$P" || notok "tui retry: simulator listens"
keys r r
if wait_for r "written and verified"; then
    ok "tui retry: r starts a new run on the same port that flashes the board"
else
    notok "tui retry: r starts a new run on the same port that flashes the board"
fi
if ! screen r | grep -q "press r to retry" && ! keybar r | grep -q "retry"; then
    ok "tui retry: no retry key once the run succeeded"
else
    screen r >&2
    notok "tui retry: no retry key once the run succeeded"
fi
keys r q
if wait_for r "EXIT=0"; then
    ok "tui retry: the retried run's exit code is 0"
else
    notok "tui retry: the retried run's exit code is 0"
fi
tm kill-session -t r 2>/dev/null

# ---- retry reads the profile again: fixed in the meantime, it flashes ----
sed 's/offset: 0x10000, size: 1M}/offset: 0x10000, size: 64K}/' "$TMP/board.yaml" \
    > "$TMP/fixme.yaml"
open f
run f "'$ESPDECK' '$TMP/fixme.yaml' --port 'sim:esp32?pacing=0' --no-monitor"
if wait_for f "press r to retry"; then
    ok "tui retry: a profile that does not fit offers r retry"
else
    notok "tui retry: a profile that does not fit offers r retry"
fi
cp "$TMP/board.yaml" "$TMP/fixme.yaml"
keys f F5
if wait_for f "written and verified"; then
    ok "tui retry: F5 reads the fixed profile again and flashes"
else
    notok "tui retry: F5 reads the fixed profile again and flashes"
fi
keys f q
wait_for f "EXIT=0" >/dev/null
tm kill-session -t f 2>/dev/null

# ---- config.yaml's port reaches the console ----
printf 'port: "sim:esp32?pacing=0"\nbaud: 460800\n' > "$XDG_CONFIG_HOME/espdeck/config.yaml"
sed '/^baud:/d' "$TMP/board.yaml" > "$TMP/nobaud.yaml"
open c
run c "'$ESPDECK' '$TMP/nobaud.yaml' --no-monitor"
if wait_for c "sim:esp32?pacing=0" && wait_for c "written and verified"; then
    ok "tui config: the console flashes on config.yaml's port"
else
    notok "tui config: the console flashes on config.yaml's port"
fi
check "tui config: ... at config.yaml's baud (the profile names none)" \
    wait_for c "460800 baud"
keys c q
wait_for c "EXIT=0" >/dev/null
tm kill-session -t c 2>/dev/null
rm -f "$XDG_CONFIG_HOME/espdeck/config.yaml"

# ---- the quit dialog ends "connecting" on a board that never answers ----
if silent_start; then
    open q
    run q "'$ESPDECK' '$TMP/board.yaml' --port socket://127.0.0.1:$SILENT_PORT --no-monitor"
    wait_for q "connecting" >/dev/null
    keys q q
    wait_for q "quit while flashing" >/dev/null
    keys q y
    if wait_for q "EXIT=6"; then
        ok "tui quit: the quit dialog ends connecting to a silent board, exit 6"
    else
        notok "tui quit: the quit dialog ends connecting to a silent board, exit 6"
    fi
    tm kill-session -t q 2>/dev/null
else
    notok "tui quit: a silent TCP peer"
fi

if ls "$TMP"/san.* >/dev/null 2>&1; then
    head -60 "$TMP"/san.* >&2
    notok "tui_retry: no sanitizer reports"
else
    ok "tui_retry: no sanitizer reports"
fi
exit 0
