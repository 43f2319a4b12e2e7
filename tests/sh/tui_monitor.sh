#!/bin/bash
# The monitor as idf monitor users know it, driven through tmux: the first
# byte after it opens, typing into the target (the simulated app is a
# scripted line editor, "@echo"), --eol, Ctrl-T Ctrl-T, keys that stay with
# the console, long lines wrapped at 80 columns and cut with Ctrl-T W, a
# live baud change (Ctrl-T B), and `espdeck monitor` in a pipe.
source tests/lib.sh
REPO=$PWD

if ! command -v tmux >/dev/null 2>&1; then
    skip "tui_monitor: tmux is not installed (make deps)"
    exit 0
fi
if ! timeout 20 "$ESPDECK" info --port 'sim:esp32?pacing=0' >/dev/null 2>&1; then
    skip "tui_monitor: this build has no in-process sim:esp32"
    exit 0
fi

WAIT=${TUI_WAIT:-60}
SOCK=espdeck-mon-$$
export HOME=$TMP/home
mkdir -p "$HOME"
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
t_cleanup_tmux() { tm kill-server 2>/dev/null; t_cleanup; }
trap 't_cleanup_tmux' EXIT INT TERM
tm new-session -d -s keep -x 80 -y 24 "sleep 100000"
SAN_ENV="TSAN_OPTIONS=log_path=$TMP/san ASAN_OPTIONS=log_path=$TMP/san UBSAN_OPTIONS=log_path=$TMP/san:print_stacktrace=1"
open() {
    tm new-session -d -s "$1" -x "${2:-100}" -y "${3:-30}" \
        "env -i PATH=\"$PATH\" HOME=\"$HOME\" XDG_CONFIG_HOME=\"$XDG_CONFIG_HOME\" XDG_STATE_HOME=\"$XDG_STATE_HOME\" XDG_DATA_HOME=\"$XDG_DATA_HOME\" XDG_CACHE_HOME=\"$XDG_CACHE_HOME\" TERM=xterm-256color LANG=C.UTF-8 $SAN_ENV PS1='PROMPT\$ ' bash --norc --noprofile"
    tm send-keys -t "$1" "cd '$REPO'" Enter
}
keys() { local n=$1; shift; tm send-keys -t "$n" "$@"; sleep 0.3; }
# the monitor pane's text only (inside the box, right border cut)
pane() { screen "$1" | sed -n '/┌ monitor/,/└/p' | sed 's/^│ //; s/ *│$//'; }

# board NAME SCRIPT_LINES...: images of an app printing those lines,
# flashed on a fresh simulated board; sets PORT (the board, kept in a
# flash file) and PROFILE
board() {
    local d=$TMP/$1
    shift
    mkdir -p "$d"
    printf '%s\n' "$@" > "$d/script.txt"
    "$ESPDECK" demo --images "$d/img" --script "$d/script.txt" || return 1
    sed "s|\.\./build/demo|$d/img|" profiles/demo.yaml > "$d/board.yaml"
    PROFILE=$d/board.yaml
    PORT="sim:esp32?pacing=0&flash-file=$d/flash.bin"
    "$ESPDECK" flash "$PROFILE" --port "$PORT" --batch >"$d/flash.out" 2>&1
}

LONG=$(printf 'long-line-start'; for i in $(seq 1 15); do printf ' word%02d-xxxx' "$i"; done; printf ' LONG-LINE-END')
board echo "@echo" "@period=200" "I () app: ready" "$LONG" "@stop" ||
    { notok "tui_monitor: a board with the echo app"; exit 1; }

# ---- the first byte, typing, --eol default ----
open a 80 24
run a "\"$ESPDECK\" monitor --port '$PORT'"
wait_for a "ready" >/dev/null
keys a C-t Home
if pane a | sed -n 2p | grep -q '^ets Jul 29 2019'; then
    ok "tui_monitor: the first byte after the monitor opens is shown (ets ...)"
else
    screen a >&2; notok "tui_monitor: the first byte after the monitor opens is shown (ets ...)"
fi
keys a C-t End
keys a h e l l o Enter
if wait_for a 'rx: "hello" + CR LF'; then
    ok "tui_monitor: typed keys reach the target, Enter sends CR LF"
else
    notok "tui_monitor: typed keys reach the target, Enter sends CR LF"
fi
# single letters are the target's now: q is typed, not quit
keys a q Enter
if wait_for a 'rx: "q" + CR LF' && ! screen a | grep -q 'EXIT='; then
    ok "tui_monitor: q goes to the target while the monitor has the keyboard"
else
    screen a >&2; notok "tui_monitor: q goes to the target while the monitor has the keyboard"
fi
keys a C-t C-t Enter
check "tui_monitor: Ctrl-T Ctrl-T sends a literal Ctrl-T" wait_for a 'rx: "^T" + CR LF'
keys a a b c BSpace d Enter
check "tui_monitor: Backspace reaches the target" wait_for a 'rx: "abd" + CR LF'
# the menu key's commands still work
keys a C-t i
check "tui_monitor: Ctrl-T I still toggles timestamps" wait_for a "time: on"
keys a C-t i
keys a F1
if wait_for a "the monitor has the keyboard" && wait_for a "Ctrl-T Ctrl-T"; then
    ok "tui_monitor: the help names the focus rule and Ctrl-T Ctrl-T"
else
    notok "tui_monitor: the help names the focus rule and Ctrl-T Ctrl-T"
fi
keys a Escape

# ---- long lines: wrapped at 80 columns, cut with Ctrl-T W ----
if pane a | grep -q 'long-line-start' && pane a | grep -q 'LONG-LINE-END' &&
   [ "$(screen a | LC_ALL=C.UTF-8 wc -L)" -le 80 ]; then
    ok "tui_monitor: a long line wraps at 80 columns, its end visible"
else
    screen a >&2; notok "tui_monitor: a long line wraps at 80 columns, its end visible"
fi
# the wrapped rows hold the whole line, in order
# (spaces left out: a row that ends in one cannot be told from padding)
joined=$(pane a | sed -n '/long-line-start/,/LONG-LINE-END/p' | tr -d '\n ')
if [ "$joined" = "$(echo "$LONG" | tr -d ' ')" ]; then
    ok "tui_monitor: the wrapped rows join to the whole line"
else
    echo "got:  $joined" >&2; echo "want: $LONG" >&2
    notok "tui_monitor: the wrapped rows join to the whole line"
fi
keys a C-t w
if wait_for a "cut" && pane a | grep -q 'long-line-start' &&
   ! pane a | grep -q 'LONG-LINE-END'; then
    ok "tui_monitor: Ctrl-T W cuts long lines at the pane's edge"
else
    screen a >&2; notok "tui_monitor: Ctrl-T W cuts long lines at the pane's edge"
fi
keys a C-t w

# ---- live baud change ----
keys a C-t b
keys a 9 6 0 0 Enter
if wait_for a "monitor 9600 baud"; then
    ok "tui_monitor: Ctrl-T B changes the monitor's baud rate"
else
    notok "tui_monitor: Ctrl-T B changes the monitor's baud rate"
fi
# the target still runs at 115200: what it answers is garbled now
keys a z z z Enter
sleep 1
if ! screen a | grep -q 'rx: "zzz"'; then
    ok "tui_monitor: at the wrong baud the target's answer is garbled"
else
    notok "tui_monitor: at the wrong baud the target's answer is garbled"
fi
keys a C-t b
keys a 1 1 5 2 0 0 Enter
keys a Enter        # ends the garbled line
keys a y y y Enter
check "tui_monitor: back at 115200 the target answers again" \
    wait_for a 'rx: "yyy" + CR LF'

keys a C-]
if wait_for a "EXIT=0"; then ok "tui_monitor: Ctrl-] quits the monitor (exit 0)"
else screen a >&2; notok "tui_monitor: Ctrl-] quits the monitor (exit 0)"; fi
tm kill-session -t a

# ---- --eol LF ----
open b 80 24
run b "\"$ESPDECK\" monitor --port '$PORT' --eol LF"
wait_for b "ready" >/dev/null
keys b o k Enter
check "tui_monitor: --eol LF sends LF for Enter" wait_for b 'rx: "ok" + LF'
keys b C-]
tm kill-session -t b

# ---- a script: standard input to the target, its output to stdout ----
printf 'one\ntwo\n' | timeout 30 "$ESPDECK" monitor --port "$PORT" --seconds 2 \
    > "$TMP/pipe.out" 2> "$TMP/pipe.err"
rc=$?
if [ $rc -eq 0 ] && head -c 4 "$TMP/pipe.out" | grep -q '^ets ' &&
   grep -q 'rx: "one" + CR LF' "$TMP/pipe.out" &&
   grep -q 'rx: "two" + CR LF' "$TMP/pipe.out"; then
    ok "tui_monitor: monitor in a pipe forwards stdin and prints the target"
else
    echo "rc=$rc" >&2; head -c 600 "$TMP/pipe.out" >&2; cat "$TMP/pipe.err" >&2
    notok "tui_monitor: monitor in a pipe forwards stdin and prints the target"
fi

# ---- the port goes away and comes back under another name ----
# `espdeck sim` serves the echo board on a pty; the "USB device" (serial
# number TESTSN42) is faked through ESPDECK_TEST_PORTS, the list of ports
# espdeck sees.  The first simulator goes, a second one serves the same
# flash on another pty, and the list moves the serial number there.
PTYS="$TMP/ports.txt"
pty_sim() { # NAME: serve the echo board's flash on $TMP/NAME
    "$ESPDECK" sim --chip esp32 --listen "pty:$TMP/$1" --boot normal \
        --no-pacing --flash-file "$TMP/echo/flash.bin" 2>>"$TMP/ptysim.err" &
    PTY_PID=$!
    T_PIDS="$T_PIDS $PTY_PID"
    for _ in $(seq 1 100); do [ -e "$TMP/$1" ] && return 0; sleep 0.1; done
    return 1
}
if pty_sim ttyA; then
    echo "$TMP/ttyA 303a:1001 TESTSN42 1-1.4" > "$PTYS"
    open r 200 90
    run r "ESPDECK_TEST_PORTS='$PTYS' \"$ESPDECK\" monitor --port '$TMP/ttyA'"
    keys r C-t r
    wait_for r "ready" >/dev/null
    kill -TERM "$PTY_PID"; wait "$PTY_PID" 2>/dev/null
    if wait_for r "$TMP/ttyA went away" && wait_for r "waiting for usb-serial:TESTSN42 to come back"; then
        ok "tui_monitor: a vanished port is said in the monitor, with the device waited for"
    else
        notok "tui_monitor: a vanished port is said in the monitor, with the device waited for"
    fi
    sleep 1
    if pty_sim ttyB; then
        echo "$TMP/ttyB 303a:1001 TESTSN42 1-1.4" > "$PTYS"
        if wait_for r "reconnected: usb-serial:TESTSN42 is $TMP/ttyB now"; then
            ok "tui_monitor: the same USB device is reopened under its new name"
        else
            notok "tui_monitor: the same USB device is reopened under its new name"
        fi
        keys r a g a i n Enter
        check "tui_monitor: after the reconnect keys reach the target again" \
            wait_for r 'rx: "again" + CR LF'
        kill -TERM "$PTY_PID"; wait "$PTY_PID" 2>/dev/null
    else
        notok "tui_monitor: a second pty simulator"
    fi
    keys r C-]
    if wait_for r "EXIT=0"; then ok "tui_monitor: quitting while waiting for the port exits 0"
    else screen r >&2; notok "tui_monitor: quitting while waiting for the port exits 0"; fi
    tm kill-session -t r
else
    cat "$TMP/ptysim.err" >&2
    notok "tui_monitor: a pty simulator (espdeck sim --listen pty:PATH)"
fi

# ---- panics decoded with the app's ELF (the real ESP-IDF v4.4 build) ----
ELF=$FW/idf-build/esp32-hello-world-v4.4/hello_world.elf
BT="0x400d4a4c:0x3ffb5e60 0x40085a0c:0x3ffb5e90 0x400d4b1b:0x3ffb5eb0"
if [ ! -f "$ELF" ]; then
    skip "tui_monitor: panic decoding: $ELF is absent (set ESPDECK_SHARED)"
elif ! command -v addr2line >/dev/null 2>&1; then
    skip "tui_monitor: panic decoding: no GNU addr2line (binutils-multiarch) to compare with"
elif ! board panic "@period=100" "I () app: about to crash" \
        "Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled." \
        "Core  0 register dump:" \
        "PC      : 0x400d4a4c  PS      : 0x00060830  A0      : 0x800d4b1e  A1      : 0x3ffb5e60" \
        "EXCVADDR: 0x00000000  LBEG    : 0x4000c46c  LEND    : 0x4000c477  LCOUNT  : 0x00000000" \
        "Backtrace:$BT" \
        "ELF file SHA256: 0123456789abcdef" "I () app: after the panic" "@stop"; then
    notok "tui_monitor: a board with the panicking app"
else
    # what GNU addr2line says, as "  0xADDR: FUNC at FILE:LINE" (addr2line
    # glues a file's absolute Windows path to the compile folder,
    # "c:\\b\\build/C:/idf/x.c"; espdeck keeps the absolute path alone)
    want=$(addr2line -fa -e "$ELF" 0x400d4a4c 0x40085a0c 0x400d4b1b |
        paste - - - | while IFS=$'\t' read -r a f l; do
            printf '  0x%08x: %s at %s\n' "$a" "$f" "$(echo "$l" |
                sed 's/ (discriminator [0-9]*)//; s|^.*/\([A-Za-z]:/\)|\1|')"
        done)
    open p 160 40
    run p "cd '$TMP/panic' && \"$ESPDECK\" monitor --port '$PORT' --elf '$ELF'"
    wait_for p "after the panic" >/dev/null
    keys p C-t l
    keys p C-t r
    wait_count() { local i=0; while [ $i -lt $((WAIT * 5)) ]; do
        [ "$(screen "$1" | grep -cF -- "$2")" -ge "$3" ] && return 0; sleep 0.2; i=$((i + 1)); done; return 1; }
    wait_count p "after the panic" 2 >/dev/null
    keys p C-t l
    got=$(pane p | grep -A3 '^Backtrace:' | sed -n 2,4p)
    if [ -n "$got" ] && [ "$got" = "$want" ]; then
        ok "tui_monitor: a backtrace is decoded under it, as GNU addr2line decodes it"
    else
        echo "got:"; echo "$got"; echo "want (addr2line):"; echo "$want"; screen p
        notok "tui_monitor: a backtrace is decoded under it, as GNU addr2line decodes it"
    fi >&2
    if pane p | sed -n '/^PC      : 0x400d4a4c/{n;p}' | grep -q '^  0x400d4a4c: app_main at .*main/hello_world_main.c:17'; then
        ok "tui_monitor: the PC of the register dump is decoded under it"
    else
        screen p >&2; notok "tui_monitor: the PC of the register dump is decoded under it"
    fi
    if grep -qs 'app_main at .*hello_world_main.c:17' "$TMP"/panic/espdeck-monitor-*.log &&
       [ "$(grep -h -A3 '^Backtrace:' "$TMP"/panic/espdeck-monitor-*.log | grep -c '^  0x')" -ge 3 ]; then
        ok "tui_monitor: the log file has the decoded lines under the panic"
    else
        cat "$TMP"/panic/espdeck-monitor-*.log >&2
        notok "tui_monitor: the log file has the decoded lines under the panic"
    fi
    keys p C-]
    tm kill-session -t p
    # without a terminal: the decoded lines follow the panic on stdout
    timeout 30 "$ESPDECK" monitor --port "$PORT" --elf "$ELF" --seconds 2 \
        < /dev/null > "$TMP/panic.out" 2>&1
    # right under the Backtrace line
    got=$(tr -d '\r' < "$TMP/panic.out" | grep -A3 '^Backtrace:' | sed -n 2,4p)
    if [ "$got" = "$want" ]; then
        ok "tui_monitor: monitor in a pipe decodes the backtrace too"
    else
        cat "$TMP/panic.out" >&2; notok "tui_monitor: monitor in a pipe decodes the backtrace too"
    fi
fi

if ls "$TMP"/san.* >/dev/null 2>&1; then
    head -60 "$TMP"/san.* >&2
    notok "tui_monitor: no sanitizer reports"
else
    ok "tui_monitor: no sanitizer reports"
fi
exit 0
