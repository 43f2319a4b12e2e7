#!/bin/bash
# Ctrl-C while connecting ends a batch job at once with exit 6 and one
# sentence (issue 10: it used to go on for ~7 s and exit 4): against a
# silent TCP peer (sync attempts and banner waits), and in the middle of a
# reset sequence's long wait.  The bound is generous (2 s): it catches the
# old behaviour without timing anything tightly.
source tests/lib.sh
export ESPDECK_FIRMWARE=$(cd "$FW" 2>/dev/null && pwd)
if [ -z "$ESPDECK_FIRMWARE" ]; then
    skip "cli cancel: no shared firmware"
    exit 0
fi

silent_start

# cancel_after NAME SECONDS ARGS...: SIGINT after SECONDS, then check
cancel_after() {
    local name=$1 after=$2; shift 2
    timeout 60 "$ESPDECK" "$@" >"$TMP/out" 2>"$TMP/err" &
    local pid=$!
    sleep "$after"
    local t0=$(date +%s%N)
    kill -INT $pid
    wait $pid
    local rc=$? ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    if [ $rc -eq 6 ] && [ $ms -lt 2000 ] &&
        tail -1 "$TMP/err" | grep -q '^espdeck: cancelled while connecting: the board was not touched beyond its reset$'; then
        ok "cli cancel $name: exit 6 at once"
    else
        notok "cli cancel $name: rc $rc after $ms ms: $(cat "$TMP/err")"
    fi
}
cancel_after "during sync attempts (silent socket://)" 1 \
    flash tests/fixtures/profiles/sim-board.yaml --port "socket://127.0.0.1:$SILENT_PORT" --batch
cancel_after "during a reset sequence's wait" 0.7 \
    flash tests/fixtures/profiles/sim-board.yaml --port sim:esp32 --batch \
    --before 'D0|R1|W0.1|D1|R0|W5|D0'
cancel_after "erase during sync attempts" 1 \
    erase --port "socket://127.0.0.1:$SILENT_PORT"
exit 0
