#!/bin/bash
# The bench screen through tmux: four in-process simulated fixtures cycling
# units (unpaced), one whose first unit panics at boot (a boot-check FAIL)
# and one whose first unit's port vanishes mid-write (port-lost), at
# 120x36 and at 80x24: header counters, tiles, failure summary, zoom into
# the single-board view and back, help, the operator lock, stop and start,
# quitting with the summary line, and the records written.
source tests/lib.sh
REPO=$PWD

if ! command -v tmux >/dev/null 2>&1; then
    skip "tui_bench: tmux is not installed (make deps)"
    exit 0
fi
WAIT=${TUI_WAIT:-60}
SOCK=espdeck-bench-$$
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
t_cleanup_tmux() { tm kill-server 2>/dev/null; t_cleanup; }
trap 't_cleanup_tmux' EXIT INT TERM
tm new-session -d -s keep -x 80 -y 24 "sleep 100000"
"$ESPDECK" demo --images "$REPO/build/demo" || { notok "tui_bench: demo images"; exit 1; }
SAN_ENV="TSAN_OPTIONS=log_path=$TMP/san ASAN_OPTIONS=log_path=$TMP/san UBSAN_OPTIONS=log_path=$TMP/san:print_stacktrace=1"

# slot N [FAULTS]: a fast fixture whose MACs start at 24:0a:c4:N0:00:01
slot() {
    local f=
    [ -n "$2" ] && f="&faults=$2"
    echo "--slot 'sim:esp32?pacing=0&units=auto&mac=24:0a:c4:${1}0:00:01&arrive=500ms&leave=4s&stay=8s$f'"
}
SLOTS="$(slot 1 1:panic) $(slot 2) $(slot 3 1:vanish) $(slot 4)"

# ---- 120x36 ----
tm new-session -d -s wide -x 120 -y 36 -c "$REPO"
run wide "env $SAN_ENV '$ESPDECK' bench profiles/bench-demo.yaml $SLOTS --records '$TMP/wide.jsonl'"
check "tui_bench 120x36: header" wait_for wide "espdeck bench"
check "tui_bench 120x36: counters" wait_for wide "first-pass yield"
check "tui_bench 120x36: a unit's MAC on its tile" wait_for wide "MAC 24:0a:c4:20:00:01"
check "tui_bench 120x36: a bar per image" wait_for wide "bootloader"
check "tui_bench 120x36: a PASS verdict" wait_for wide "PASS"
check "tui_bench 120x36: the panicking unit fails its boot check" wait_for wide "FAIL boot-check"
check "tui_bench 120x36: the deciding line on the tile" wait_for wide "Guru Meditation Error"
check "tui_bench 120x36: the vanished port is port-lost" wait_for wide "port-lost 1"
check "tui_bench 120x36: failure summary by class" wait_for wide "boot-check 1"
tiles=$(screen wide | grep -cE '^┌ (> )?[1-4] ')
check "tui_bench 120x36: four tiles" test "$tiles" -ge 2
for m in 10 20 30 40; do
    check "tui_bench 120x36: slot with MACs 24:0a:c4:$m:00:xx on screen" wait_for wide "24:0a:c4:$m:00"
done
tm send-keys -t wide Tab Tab z
check "tui_bench 120x36: zoom shows the single-board view" wait_for wide "z back to the bench"
check "tui_bench 120x36: zoom has the monitor or the panes" sh -c "tmux -L $SOCK capture-pane -p -t wide | grep -qE 'monitor 115200|0x010000'"
tm send-keys -t wide z
check "tui_bench 120x36: z goes back to the tiles" wait_for wide "failures:"
tm send-keys -t wide F1
check "tui_bench 120x36: help from the key table" wait_for wide "bench keys"
tm send-keys -t wide Space
tm send-keys -t wide q
sleep 0.5
if screen wide | grep -q "quit while units are in progress"; then tm send-keys -t wide y; fi
check "tui_bench 120x36: quits with its summary" wait_for wide "espdeck bench: "
check "tui_bench 120x36: exit status after FAILs is 5" wait_for wide "EXIT=5"
n=$(wc -l < "$TMP/wide.jsonl" 2>/dev/null || echo 0)
check "tui_bench 120x36: records written ($n)" test "$n" -ge 3
check "tui_bench 120x36: a boot-check record" grep -q '"class":"boot-check"' "$TMP/wide.jsonl"
check "tui_bench 120x36: a port-lost record" grep -q '"class":"port-lost"' "$TMP/wide.jsonl"

# ---- 80x24, locked ----
tm new-session -d -s small -x 80 -y 24 -c "$REPO"
run small "env $SAN_ENV '$ESPDECK' bench profiles/bench-demo.yaml $SLOTS --lock --records '$TMP/small.jsonl'"
check "tui_bench 80x24: header says LOCKED" wait_for small "LOCKED"
check "tui_bench 80x24: short counters" wait_for small "yield"
check "tui_bench 80x24: a boot-check FAIL" wait_for small "FAIL boot-check"
check "tui_bench 80x24: port-lost in the summary" wait_for small "port-lost 1"
check "tui_bench 80x24: the fourth slot fits" wait_for small "24:0a:c4:40:00"
check "tui_bench 80x24: the first slot fits" wait_for small "24:0a:c4:10:00"
tm send-keys -t small c
check "tui_bench 80x24: cancel is locked" wait_for small "locked: only start"
tm send-keys -t small x
check "tui_bench 80x24: stop works under the lock" wait_for small "stopped"
tm send-keys -t small s
check "tui_bench 80x24: start works under the lock" wait_for small "running"
tm send-keys -t small z
check "tui_bench 80x24: zoom works under the lock" wait_for small "z back to the bench"
tm send-keys -t small Escape
tm send-keys -t small q
check "tui_bench 80x24: quit is locked" wait_for small "locked: only start"
tm send-keys -t small C-c
sleep 0.5
if screen small | grep -q "quit while units are in progress"; then tm send-keys -t small y; fi
check "tui_bench 80x24: Ctrl-C ends a locked bench" wait_for small "EXIT="

if ls "$TMP"/san.* >/dev/null 2>&1; then
    head -60 "$TMP"/san.* >&2
    notok "tui_bench: no sanitizer reports"
else
    ok "tui_bench: no sanitizer reports"
fi
