#!/bin/bash
# The full-screen console, driven through tmux: flashing the demo profile,
# the split view with the simulated app's output, keys (help, timestamps,
# log file, search), cancel, resize, a bad profile, quitting with the
# terminal restored, monitor-only mode and the start-up pickers.
#
# Every wait is bounded (TUI_WAIT seconds, default 60: sanitizer builds are
# slow); a wait that runs out fails its check.  The board is the in-process
# sim:esp32 when this build has it, else `espdeck sim` over RFC 2217.
source tests/lib.sh
REPO=$PWD

if ! command -v tmux >/dev/null 2>&1; then
    skip "tui_console: tmux is not installed (make deps)"
    # ---- sanitizer reports from any of the runs above ----
if ls "$TMP"/san.* >/dev/null 2>&1; then
    head -60 "$TMP"/san.* >&2
    notok "tui: no sanitizer reports"
else
    ok "tui: no sanitizer reports"
fi
exit 0
fi

WAIT=${TUI_WAIT:-60}
SOCK=espdeck-test-$$
export HOME=$TMP/home XDG_CONFIG_HOME=$TMP/home/.config XDG_STATE_HOME=$TMP/home/.local/state
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
t_cleanup_tmux() { tm kill-server 2>/dev/null; t_cleanup; }
trap 't_cleanup_tmux' EXIT INT TERM

# a session that lives for the whole script: without it the tmux server
# exits whenever the last test session is killed, racing the next one
tm new-session -d -s keep -x 80 -y 24 "sleep 100000"
"$ESPDECK" demo --images "$REPO/build/demo" ||
    { notok "tui: demo images"; exit 1; }

# A board: PORT (fast) and PACED_PORT (at the baud rate).
IN_PROCESS=no
if timeout 20 "$ESPDECK" info --port 'sim:esp32?pacing=0' >/dev/null 2>&1; then
    IN_PROCESS=yes
fi
BOARDS=0
# Sanitizer reports cannot be read on a curses screen: send them to files.
SAN_ENV="TSAN_OPTIONS=log_path=$TMP/san ASAN_OPTIONS=log_path=$TMP/san UBSAN_OPTIONS=log_path=$TMP/san:print_stacktrace=1"
# new_board FAST|PACED: sets PORT to a fresh board
new_board() {
    if [ $IN_PROCESS = yes ]; then
        # a flash file keeps what was written for the next connection
        BOARDS=$((BOARDS + 1))
        if [ "$1" = PACED ]; then PORT='sim:esp32?'; else PORT='sim:esp32?pacing=0&'; fi
        PORT="${PORT}flash-file=$TMP/board$BOARDS.bin"
        return 0
    fi
    local p extra=
    p=$(free_port)
    [ "$1" = PACED ] || extra=--no-pacing
    "$ESPDECK" sim --chip esp32 --listen "rfc2217://127.0.0.1:$p" $extra \
        2>>"$TMP/sim.err" &
    T_PIDS="$T_PIDS $!"
    wait_port "$p" || return 1
    PORT="rfc2217://127.0.0.1:$p"
}

# A tmux window running a clean shell in the repo: open NAME [W H]
open() {
    tm new-session -d -s "$1" -x "${2:-100}" -y "${3:-30}" \
        "env -i PATH=\"$PATH\" HOME=\"$HOME\" XDG_CONFIG_HOME=\"$XDG_CONFIG_HOME\" XDG_STATE_HOME=\"$XDG_STATE_HOME\" TERM=xterm-256color LANG=C.UTF-8 ${NO_COLOR:+NO_COLOR=1} $SAN_ENV PS1='PROMPT\$ ' bash --norc --noprofile"
    tm send-keys -t "$1" "cd '$REPO'" Enter
}
# wait_gone NAME TEXT
wait_gone() {
    local i=0 lim=$((WAIT * 5))
    while [ $i -lt $lim ]; do
        screen "$1" | grep -qF -- "$2" || return 0
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}
# wait_count NAME TEXT N: until TEXT shows on N lines
wait_count() {
    local i=0 lim=$((WAIT * 5))
    while [ $i -lt $lim ]; do
        [ "$(screen "$1" | grep -cF -- "$2")" -ge "$3" ] && return 0
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}
keys() { local n=$1; shift; tm send-keys -t "$n" "$@"; sleep 0.3; }
# the layout holds: header, key bar, nothing wider than the window
layout_ok() {
    local s w=$2
    s=$(screen "$1")
    echo "$s" | head -1 | grep -q 'espdeck' || { echo "no header" >&2; return 1; }
    echo "$s" | grep -q 'F1 help' || { echo "no key bar" >&2; return 1; }
    [ "$(echo "$s" | LC_ALL=C.UTF-8 wc -L)" -le "$w" ] ||
        { echo "line wider than $w" >&2; echo "$s" >&2; return 1; }
}
# the shell prompt is the last non-empty line
prompt_back() { screen "$1" | sed '/^ *$/d' | tail -1 | grep -q '^PROMPT\$'; }
quit_and_check() { # NAME EXPECTED_EXIT TESTNAME [KEY: q; C-] on the monitor]
    keys "$1" "${4:-q}"
    if wait_for "$1" "EXIT=$2" && prompt_back "$1"; then
        ok "$3"
    else
        notok "$3"
    fi
}

# ---- 1. flash with --no-monitor: every pane reaches done ----
new_board FAST || { notok "tui: simulated board"; exit 1; }
BOARD1=$PORT
open a
run a "\"$ESPDECK\" profiles/demo.yaml --port '$PORT' --no-monitor"
wait_count a "done, verified" 3
if [ "$(screen a | grep -c 'done, verified')" -eq 3 ] &&
   screen a | grep -q 'partition-table' && screen a | grep -q 'factory'; then
    ok "tui: every image pane reaches done"
else
    screen a >&2; notok "tui: every image pane reaches done"
fi
check "tui: header shows the chip and MAC" \
    bash -c "tmux -L '$SOCK' capture-pane -p -t a | sed -n 2p | grep -q 'ESP32.*MAC'"
check "tui: log pane shows engine messages" \
    bash -c "tmux -L '$SOCK' capture-pane -p -t a | grep -q '┌ log'"
# the chip line drops whole fields when narrow, never cuts one: every
# field shown at 100 and 80 columns is a field of the 160-column line
fields() { sed -n 2p | sed 's/^ *//; s/ *$//; s/ · /\n/g; s/ (/\n(/g'; }
tm resize-window -t a -x 160 -y 50; sleep 0.8
screen a | fields > "$TMP/fields.wide"
for wh in "100 30" "80 24"; do
    set -- $wh
    tm resize-window -t a -x "$1" -y "$2"; sleep 0.8
    if [ "$(wc -l < "$TMP/fields.wide")" -ge 6 ] &&
       screen a | fields | grep -q 'MAC' &&
       ! screen a | fields | grep -vxF -f "$TMP/fields.wide" >&2; then
        ok "tui: chip line at $1 columns shows whole fields only"
    else
        screen a | sed -n 2p >&2; cat "$TMP/fields.wide" >&2
        notok "tui: chip line at $1 columns shows whole fields only"
    fi
done
tm resize-window -t a -x 100 -y 30; sleep 0.5
# resize while showing the panes
tm resize-window -t a -x 80 -y 24; sleep 0.8
check "tui: panes fit 80x24" layout_ok a 80
check "tui: 80x24 keeps all three panes" \
    bash -c "[ \$(tmux -L '$SOCK' capture-pane -p -t a | grep -c '0x0[01]') -ge 3 ]"
tm resize-window -t a -x 120 -y 40; sleep 0.8
check "tui: panes grow to 120x40" layout_ok a 120
quit_and_check a 0 "tui: q after flashing exits 0 and the prompt is back"
run a "stty -a | tr ' ' '\n' | grep -E '^-?(icanon|echo)\$' | tr '\n' ' '"
# "echo EXIT=0" is on stty's output line only (not the earlier exit line)
if wait_for a "echo EXIT=0" && screen a | grep -q '^icanon echo'; then
    ok "tui: terminal modes restored (icanon echo)"
else
    screen a >&2; notok "tui: terminal modes restored (icanon echo)"
fi
tm kill-session -t a

# ---- 1b. many images at 80x24: one line each ----
mkdir -p "$TMP/many"
{
    printf 'name: many\nchip: esp32\nport: sim:esp32\nbaud: 921600\n'
    printf 'flash: {mode: dio, freq: 40m, size: 4MB}\n'
    printf 'partition_table:\n  offset: 0x8000\n  entries:\n'
    printf '    - {name: factory, type: app, subtype: factory, offset: 0x10000, size: 1M}\n'
    for i in 1 2 3 4 5 6; do
        printf '    - {name: d%d, type: data, subtype: 0x40, offset: 0x%x, size: 64K}\n' \
            $i $((0x100000 + i * 0x10000))
    done
    printf 'images:\n'
    printf '  - {name: bootloader, offset: 0x1000, file: %s}\n' "$REPO/build/demo/bootloader.bin"
    printf '  - {partition: factory, file: %s}\n' "$REPO/build/demo/espdeck-demo.bin"
    for i in 1 2 3 4 5 6; do
        printf '  - {partition: d%d, file: %s}\n' $i "$REPO/build/demo/bootloader.bin"
    done
} > "$TMP/many/many.yaml"
new_board FAST || { notok "tui: simulated board"; exit 1; }
open many 80 24
run many "\"$ESPDECK\" '$TMP/many/many.yaml' --port '$PORT' --no-monitor"
if wait_count many "done, verified" 9 && layout_ok many 80 &&
   screen many | grep -q "9 images" && screen many | grep -q "d6 "; then
    ok "tui: nine images at 80x24 get one line each"
else
    screen many >&2; notok "tui: nine images at 80x24 get one line each"
fi
tm kill-session -t many

# ---- 2. monitor-only on the board just flashed ----
open m
run m "\"$ESPDECK\" monitor --port '$BOARD1' --baud 115200"
wait_for m "monitor 115200 baud" >/dev/null
keys m C-t r
if wait_for m "espdeck-demo" && wait_for m "Hello from the espdeck demo app"; then
    ok "tui: monitor-only shows the app's output after Ctrl-T R"
else
    notok "tui: monitor-only shows the app's output after Ctrl-T R"
fi
quit_and_check m 0 "tui: monitor quits with Ctrl-]" C-]
tm kill-session -t m

# ---- 3. flash then the split view with the app's output ----
new_board FAST || { notok "tui: simulated board"; exit 1; }
open s
# a folder of its own for the monitor log file
mkdir -p "$TMP/wd"
tm send-keys -t s "cd '$TMP/wd'" Enter
run s "\"$ESPDECK\" '$REPO/profiles/demo.yaml' --port '$PORT'"
if wait_for s "all MD5 ok" && wait_for s "monitor 115200 baud"; then
    ok "tui: split view after flashing"
else
    notok "tui: split view after flashing"
fi
if [ "$(screen s | grep -cE '✔ (bootloader|partition-table|factory)')" -eq 3 ]; then
    ok "tui: summary has one ✔ line per image"
else
    screen s >&2; notok "tui: summary has one ✔ line per image"
fi
check "tui: boot log names the project" wait_for s "Project name:     espdeck-demo"
check "tui: app script lines appear" wait_for s "Hello from the espdeck demo app!"
check "tui: error lines from the app appear" wait_for s "E ("
# keys
keys s F1
check "tui: F1 shows the help with every key" \
    bash -c "s=\$(tmux -L '$SOCK' capture-pane -p -t s); echo \"\$s\" | grep -q 'Ctrl-T R.*reset the target' && echo \"\$s\" | grep -q 'PgUp' && echo \"\$s\" | grep -q 'Ctrl-T L'"
keys s x
check "tui: any key closes the help" wait_gone s "what it does"
keys s C-t i
check "tui: Ctrl-T I turns timestamps on" wait_for s "time: on"
keys s C-t l
if wait_for s "log file: espdeck-monitor-"; then
    ok "tui: Ctrl-T L logs to a file named in the status line"
else
    notok "tui: Ctrl-T L logs to a file named in the status line"
fi
wait_for s "uptime tick" >/dev/null
sleep 2.5
keys s C-t l
wait_for s "log file: off" >/dev/null
if grep -qsE '[IWE] \([0-9]+\) [a-z0-9]+: |Hello from' "$TMP"/wd/espdeck-monitor-*.log; then
    ok "tui: the log file holds the target's lines"
else
    ls -la "$TMP"/wd/espdeck-monitor-*.log >&2; cat "$TMP"/wd/espdeck-monitor-*.log >&2
    screen s >&2
    notok "tui: the log file holds the target's lines"
fi
rm -f "$TMP"/wd/espdeck-monitor-*.log
keys s C-t Space
check "tui: Ctrl-T space pauses auto-scroll" wait_for s "paused"
keys s C-t Space
check "tui: Ctrl-T space resumes" wait_gone s "paused"
keys s C-t / w i f i Enter
check "tui: Ctrl-T / search finds a line and stops following" wait_for s "paused"
keys s C-t End
check "tui: Ctrl-T End follows the output again" wait_gone s "paused"
# resize the split view
tm resize-window -t s -x 80 -y 24; sleep 0.8
check "tui: split view fits 80x24" layout_ok s 80
check "tui: 80x24 keeps the monitor pane" \
    bash -c "tmux -L '$SOCK' capture-pane -p -t s | grep -q '┌ monitor'"
tm resize-window -t s -x 130 -y 45; sleep 0.8
check "tui: split view grows to 130x45" layout_ok s 130
# flash again: every image is unchanged, and the exit line says so
keys s C-t f
wait_count s "unchanged, skipped (MD5 matched)" 3 >/dev/null
quit_and_check s 0 "tui: Ctrl-] in the split view exits 0" C-]
if screen s | grep -q "espdeck: 3 images unchanged (MD5 matched), nothing written" &&
   ! screen s | grep -q "written and verified"; then
    ok "tui: exit line after an unchanged reflash says nothing was written"
else
    screen s >&2; notok "tui: exit line after an unchanged reflash says nothing was written"
fi
tm kill-session -t s

# ---- 4. cancel mid-write ----
new_board PACED || { notok "tui: simulated board"; exit 1; }
open c
run c "\"$ESPDECK\" profiles/demo.yaml --port '$PORT'"
if wait_for c "writing" && keys c c && wait_for c "cancel flashing?"; then
    keys c y
    if wait_for c "cancelled:" && wait_for c "not written"; then
        ok "tui: cancel mid-write shows cancelled and not written"
    else
        notok "tui: cancel mid-write shows cancelled and not written"
    fi
else
    notok "tui: cancel mid-write shows cancelled and not written"
fi
# the log pane wraps: at 80 columns the end of the cancel sentence (what
# to do) is on screen
tm resize-window -t c -x 80 -y 24; sleep 0.8
if ! screen c | grep -q "is incomplete," || screen c | grep -q "flashed again"; then
    ok "tui: the log pane wraps long sentences at 80 columns"
else
    screen c >&2; notok "tui: the log pane wraps long sentences at 80 columns"
fi
tm resize-window -t c -x 100 -y 30; sleep 0.5
# once the job is over the key bar shows only the keys that apply now
keybar() { screen "$1" | sed '/^ *$/d' | tail -1; }
# (wide, so a long status cannot be what hides the key)
tm resize-window -t c -x 160 -y 30; sleep 0.8
if wait_gone c "c cancel" && ! keybar c | grep -q "cancelling" &&
   keybar c | grep -q "F1 help" && keybar c | grep -q "q quit"; then
    ok "tui: after a cancel the key bar has no cancel key and no stale note"
else
    keybar c >&2; notok "tui: after a cancel the key bar has no cancel key and no stale note"
fi
tm resize-window -t c -x 100 -y 30; sleep 0.5
quit_and_check c 6 "tui: quitting after a cancel exits 6"
tm kill-session -t c

# ---- 5. quit while flashing asks ----
new_board PACED || { notok "tui: simulated board"; exit 1; }
open q
run q "\"$ESPDECK\" profiles/demo.yaml --port '$PORT'"
if wait_for q "writing"; then
    keys q q
    if wait_for q "quit while flashing?"; then
        keys q n
        wait_gone q "quit while flashing?" && ok "tui: quit while flashing asks; n keeps going" ||
            notok "tui: quit while flashing asks; n keeps going"
        keys q q
        wait_for q "quit while flashing?" >/dev/null
        keys q y
        if wait_for q "EXIT=6"; then ok "tui: y quits, cancelled (exit 6)"
        else notok "tui: y quits, cancelled (exit 6)"; fi
    else
        notok "tui: quit while flashing asks; n keeps going"
        notok "tui: y quits, cancelled (exit 6)"
    fi
else
    notok "tui: quit while flashing asks; n keeps going"
fi
tm kill-session -t q

# ---- 6. a bad profile: its error sentence in the console ----
mkdir -p "$TMP/prof"
printf 'name: broken\nchip: esp33\nport: sim:esp32\n' > "$TMP/prof/bad.yaml"
open b
run b "\"$ESPDECK\" '$TMP/prof/bad.yaml'"
if wait_for b "the profile cannot be used" && wait_for b "bad.yaml:2"; then
    ok "tui: a bad profile shows its error with file:line"
else
    notok "tui: a bad profile shows its error with file:line"
fi
quit_and_check b 3 "tui: bad profile exits 3 after q"
tm kill-session -t b

# ---- 7. a board that does not answer ----
open n
dead=$(free_port)
run n "\"$ESPDECK\" profiles/demo.yaml --port socket://127.0.0.1:$dead"
if wait_for n "┌ error"; then
    ok "tui: an unreachable port is one sentence in an error box"
else
    notok "tui: an unreachable port is one sentence in an error box"
fi
# the panes stay under the sentence, each saying it was not written
if wait_count n "not written" 3 && screen n | grep -q "┌ factory" &&
   screen n | grep -q "┌ log"; then
    ok "tui: after a connection failure the panes say not written"
else
    screen n >&2; notok "tui: after a connection failure the panes say not written"
fi
keys n q
if wait_for n "EXIT=4"; then ok "tui: unreachable port exits 4"
else screen n >&2; notok "tui: unreachable port exits 4"; fi
tm kill-session -t n

# ---- 8. no arguments: profile picker, port picker, remembered ----
mkdir -p "$XDG_CONFIG_HOME/espdeck/profiles"
sed "s|\.\./build/demo|$REPO/build/demo|" profiles/demo.yaml \
    > "$XDG_CONFIG_HOME/espdeck/profiles/mine.yaml"
open p
run p "\"$ESPDECK\""
if wait_for p "choose a profile" && wait_for p "profiles/demo.yaml" &&
   wait_for p "~/.config/espdeck/profiles/mine.yaml"; then
    ok "tui: profile picker lists ./profiles and the config folder"
else
    notok "tui: profile picker lists ./profiles and the config folder"
fi
# select by position: go to the top, then down to demo.yaml's row
keys p Home
idx=$(screen p | grep -E '^│ ' | grep -n 'profiles/demo.yaml' | head -1 | cut -d: -f1)
for _ in $(seq 2 "${idx:-1}"); do keys p Down; done
keys p Enter
if wait_for p "choose a port" && wait_for p "sim:esp32" && wait_for p "sim:esp32c3"; then
    ok "tui: port picker lists the simulated boards"
else
    notok "tui: port picker lists the simulated boards"
fi
keys p q
wait_for p "EXIT=" >/dev/null
check "tui: quitting the picker restores the prompt" \
    prompt_back p
tm kill-session -t p
if [ "$IN_PROCESS" = yes ]; then
    open r
    run r "\"$ESPDECK\""
    wait_for r "choose a profile" >/dev/null
    keys r Home
    idx=$(screen r | grep -E '^│ ' | grep -n 'profiles/demo.yaml' | head -1 | cut -d: -f1)
    for _ in $(seq 2 "${idx:-1}"); do keys r Down; done
    keys r Enter
    wait_for r "choose a port" >/dev/null
    keys r Enter
    if wait_for r "sim:esp32" && grep -qs 'port=sim:esp32' "$XDG_STATE_HOME/espdeck/last"; then
        ok "tui: the choice is remembered in \$XDG_STATE_HOME/espdeck/last"
    else
        notok "tui: the choice is remembered in \$XDG_STATE_HOME/espdeck/last"
    fi
    keys r q; keys r y
    tm kill-session -t r
else
    skip "tui: remembered choice: the in-process sim:esp32 port is not in this build"
fi
# ---- sanitizer reports from any of the runs above ----
if ls "$TMP"/san.* >/dev/null 2>&1; then
    head -60 "$TMP"/san.* >&2
    notok "tui: no sanitizer reports"
else
    ok "tui: no sanitizer reports"
fi
exit 0
