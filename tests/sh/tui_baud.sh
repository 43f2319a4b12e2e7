#!/bin/bash
# The console's chip line names the baud the port's default chose: the
# --baud auto rate on a board behind a simulated USB adapter (no baud
# named anywhere), and "USB-Serial/JTAG" instead of a baud on the chip's
# own USB (docs/cli.md "The baud when none is named", docs/simulator.md).
source tests/lib.sh

if ! command -v tmux >/dev/null 2>&1; then
    skip "tui_baud: tmux is not installed (make deps)"
    exit 0
fi
if [ ! -f "$FW/Hello-world/ESP32_C3/hello_world.bin" ]; then
    skip "tui_baud: shared firmware folder absent ($FW)"
    exit 0
fi
export ESPDECK_FIRMWARE=$FW
WAIT=${TUI_WAIT:-60}
SOCK=espdeck-baud-$$
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
t_cleanup_tmux() { tm kill-server 2>/dev/null; t_cleanup; }
trap 't_cleanup_tmux' EXIT INT TERM
tm new-session -d -s keep -x 80 -y 24 "sleep 100000"
SAN_ENV="TSAN_OPTIONS=log_path=$TMP/san ASAN_OPTIONS=log_path=$TMP/san UBSAN_OPTIONS=log_path=$TMP/san:print_stacktrace=1"
open_term() { # NAME
    tm new-session -d -s "$1" -x 110 -y 30 \
        "env $SAN_ENV PS1='PROMPT\$ ' bash --norc --noprofile"
    tm send-keys -t "$1" "cd '$PWD'" Enter
}

# the fixture profiles without their baud: line
for c in esp32 esp32c3; do
    grep -v '^baud:' "tests/fixtures/profiles/hw/$c-hello-world.yaml" \
        >"$TMP/$c.yaml"
done

# chip_line NAME PROFILE PORT WANT LABEL [ARGS...]: the console on PORT
# shows WANT in its chip line
chip_line() {
    local n=$1 prof=$2 port=$3 want=$4 label=$5
    shift 5
    open_term "$n"
    run "$n" "\"$ESPDECK\" '$prof' --port '$port' --no-monitor $*"
    if wait_for "$n" "$want"; then ok "tui_baud: $label"; else notok "tui_baud: $label"; fi
    tm send-keys -t "$n" q
    wait_for "$n" "EXIT=" >/dev/null
    tm kill-session -t "$n"
}

chip_line cp "$TMP/esp32.yaml" 'sim:esp32?pacing=0&adapter=cp2102n' \
    "stub · 3000000 baud" \
    "the chip line shows the rate --baud auto chose (CP2102N: 3000000)"
chip_line usj "$TMP/esp32c3.yaml" \
    'sim:esp32c3?pacing=0&adapter=usb-serial-jtag' "stub · USB-Serial/JTAG" \
    "on USB-Serial/JTAG the chip line names the link, not a baud"
# the console takes --baud auto too (it used to read it as 0 and drop it):
# a plain sim: UART defaults to 921600, auto climbs to the top rung
chip_line au "$TMP/esp32.yaml" 'sim:esp32?pacing=0' "stub · 3000000 baud" \
    "the console's --baud auto climbs the ladder" --baud auto
"$ESPDECK" "$TMP/esp32.yaml" --port 'sim:esp32?pacing=0' --baud fast \
    </dev/null >"$TMP/bad.out" 2>&1
rc=$?
check "tui_baud: the console refuses --baud fast (exit 2)" test $rc -eq 2
check "tui_baud: ... with one sentence" \
    grep -q "^espdeck console: --baud 'fast' is not a baud rate" "$TMP/bad.out"

if ls "$TMP"/san.* >/dev/null 2>&1; then
    head -60 "$TMP"/san.* >&2
    notok "tui_baud: no sanitizer reports"
else
    ok "tui_baud: no sanitizer reports"
fi
