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

# Every wait is interruptible, not only while connecting: a whole-chip
# erase (~45 s on a paced 16 MB board) and a large erase_region, cut by
# SIGINT 0.3 s after they start, end with exit 6 and the cancel sentence;
# then the same board (a simulator that lives on) erases again.  Only
# "it ended, exit 6" is checked; `timeout 30` is a hang guard.
if sim_start --chip esp32 --flash-size 16MB --listen rfc2217://127.0.0.1:0; then
    # cancel_wait NAME ARGS...: SIGINT 0.3 s after "Erasing" appears
    cancel_wait() {
        local name=$1; shift
        : > "$TMP/out"
        timeout 30 "$ESPDECK" "$@" --port "rfc2217://127.0.0.1:$SIM_PORT" \
            >"$TMP/out" 2>"$TMP/err" &
        local pid=$! i
        for i in $(seq 1 300); do
            grep -q '^Erasing' "$TMP/out" && break
            sleep 0.1
        done
        sleep 0.3
        kill -INT $pid
        wait $pid
        local rc=$?
        if [ $rc -eq 6 ] &&
            grep -q '^espdeck: cancelled while erasing' "$TMP/err"; then
            ok "cli cancel $name: it ends, exit 6"
        else
            notok "cli cancel $name: rc $rc: $(cat "$TMP/out" "$TMP/err")"
        fi
    }
    cancel_wait "during a whole-chip erase" erase
    timeout 60 "$ESPDECK" erase 0x10000 4K --port "rfc2217://127.0.0.1:$SIM_PORT" \
        >"$TMP/out" 2>"$TMP/err"
    check "cli cancel: the board erases again after a cancelled chip erase" \
        test $? -eq 0
    cancel_wait "during a 12 MiB erase_region" erase_region 0x400000 12M
    timeout 60 "$ESPDECK" read-flash 0 4K "$TMP/rf.bin" \
        --port "rfc2217://127.0.0.1:$SIM_PORT" >"$TMP/out" 2>"$TMP/err"
    check "cli cancel: the board reads again after a cancelled erase_region" \
        test $? -eq 0
    sim_stop
else
    notok "cli cancel: a 16 MB simulator: $(cat "$TMP/sim.err")"
fi
exit 0
