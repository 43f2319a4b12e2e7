#!/bin/bash
# The console's smaller promises (issue 10): Esc in the port picker goes
# back to the profiles (it used to quit), '/' takes a port URL that is not
# listed, the profile picker lists *.yaml in the current folder; the key bar
# offers only keys that work (no "flash again" in monitor-only mode, no
# "reset" on a socket:// port).
source tests/lib.sh
REPO=$PWD
if ! command -v tmux >/dev/null 2>&1; then
    skip "tui_pickers: tmux is not installed (make deps)"
    exit 0
fi
WAIT=${TUI_WAIT:-60}
SOCK=espdeck-pick-$$
export HOME=$TMP/home XDG_CONFIG_HOME=$TMP/home/.config XDG_STATE_HOME=$TMP/home/.local/state
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" "$TMP/here"
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
t_cleanup_tmux() { tm kill-server 2>/dev/null; t_cleanup; }
trap 't_cleanup_tmux' EXIT INT TERM
keys() { local n=$1; shift; tm send-keys -t "$n" "$@"; sleep 0.3; }
"$ESPDECK" demo --images "$REPO/build/demo" || { notok "tui_pickers: demo images"; exit 0; }
# a profile in the current folder (not ./profiles)
sed "s|\.\./build/demo|$REPO/build/demo|" profiles/demo.yaml > "$TMP/here/board.yaml"

tm new-session -d -s p -x 100 -y 30 \
    "env -i PATH=\"$PATH\" HOME=\"$HOME\" XDG_CONFIG_HOME=\"$XDG_CONFIG_HOME\" XDG_STATE_HOME=\"$XDG_STATE_HOME\" TERM=xterm-256color LANG=C.UTF-8 PS1='PROMPT\$ ' bash --norc --noprofile"
tm send-keys -t p "cd '$TMP/here'" Enter
run p "\"$ESPDECK\""
if wait_for p "choose a profile" && wait_for p "./board.yaml"; then
    ok "tui pickers: *.yaml in the current folder is listed"
else
    notok "tui pickers: *.yaml in the current folder is listed"
fi
keys p Home
keys p Enter
wait_for p "choose a port" >/dev/null
keys p Escape
if wait_for p "choose a profile" && ! screen p | grep -q "EXIT="; then
    ok "tui pickers: Esc in the port picker goes back to the profiles"
else
    notok "tui pickers: Esc in the port picker goes back to the profiles"
fi
keys p Enter
wait_for p "choose a port" >/dev/null
keys p /
tm send-keys -t p -l 'sim:esp32?pacing=0'
sleep 0.3
keys p Enter
if wait_for p "monitor"; then
    ok "tui pickers: a typed port URL is used"
else
    notok "tui pickers: a typed port URL is used"
fi
grep -qs 'port=sim:esp32?pacing=0' "$XDG_STATE_HOME/espdeck/last" &&
    ok "tui pickers: the typed port is remembered" ||
    notok "tui pickers: the typed port is remembered"
keys p q
keys p y
tm kill-session -t p 2>/dev/null

# key bar: monitor-only mode has no profile to flash again
tm new-session -d -s m -x 120 -y 30 \
    "env -i PATH=\"$PATH\" HOME=\"$HOME\" TERM=xterm-256color LANG=C.UTF-8 PS1='PROMPT\$ ' bash --norc --noprofile"
run m "\"$ESPDECK\" monitor -p 'sim:esp32?pacing=0'"
if wait_for m "Ctrl-T R reset" && ! screen m | tail -1 | grep -q "flash again"; then
    ok "tui key bar: monitor-only offers reset, not flash again"
else
    screen m >&2
    notok "tui key bar: monitor-only offers reset, not flash again"
fi
keys m C-]
tm kill-session -t m 2>/dev/null
# and a socket:// port has no reset lines
if sim_start --chip esp32 --listen socket://127.0.0.1:0 --no-pacing; then
    tm new-session -d -s s -x 120 -y 30 \
        "env -i PATH=\"$PATH\" HOME=\"$HOME\" TERM=xterm-256color LANG=C.UTF-8 PS1='PROMPT\$ ' bash --norc --noprofile"
    run s "\"$ESPDECK\" monitor -p socket://127.0.0.1:$SIM_PORT"
    if wait_for s "Ctrl-T L log file" && ! screen s | tail -1 | grep -q "reset"; then
        ok "tui key bar: no reset key on a socket:// port"
    else
        screen s >&2
        notok "tui key bar: no reset key on a socket:// port"
    fi
    keys s C-]
    tm kill-session -t s 2>/dev/null
    sim_stop
fi
exit 0
