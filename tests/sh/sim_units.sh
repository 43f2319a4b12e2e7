#!/bin/bash
# The simulator as a fixture of units: per-unit faults seen by a real flash
# (in-process sim: URLs), and `espdeck sim --control FIFO` putting units in
# and taking them out, each with the next MAC.
source tests/lib.sh

P=profiles/demo.yaml
"$ESPDECK" demo --images build/demo > /dev/null 2>&1

flash_fault() { # KIND [UNITS] -> output in $TMP/KIND.out, status in RC
    timeout 60 "$ESPDECK" flash "$P" --batch --monitor 1 \
        --port "sim:esp32?pacing=0&units=${2:-auto}&arrive=1ms&leave=10s&faults=1:$1" \
        > "$TMP/$1.out" 2>&1
    RC=$?
}

flash_fault panic
check "sim_units panic: flashing passes" test $RC -eq 0
check "sim_units panic: the app panics" grep -q "Guru Meditation Error: Core  0 panic'ed" "$TMP/panic.out"
check "sim_units panic: and reboots" grep -q "rst:0xc (SW_CPU_RESET)" "$TMP/panic.out"
flash_fault verify
check "sim_units verify: exit 5" test $RC -eq 5
check "sim_units verify: MD5 differs" grep -q "verify failed for factory" "$TMP/verify.out"
# a mismatch is a write error (recovered, rewritten); the same sector
# differing again is the flash: one rewrite, not --write-retries of them
check "sim_units verify: rewritten once, then believed" \
    test "$(grep -c 'factory: recovering (' "$TMP/verify.out")" -eq 2
# one unit only: with more, the next one arrives 1 ms after the port went
# away, and a slow host (a sanitizer build) meets the new unit instead
flash_fault vanish 1
check "sim_units vanish: exit 5" test $RC -eq 5
# a local port that is gone is said at once, not retried like a network cut
check "sim_units vanish: said at once with the fix" grep -q "is gone (unplugged, or the board lost power): plug the board in again, check its USB cable" "$TMP/vanish.out"
if ! grep -q "recovering" "$TMP/vanish.out"; then ok "sim_units vanish: not retried"; else notok "sim_units vanish: not retried"; fi
flash_fault nosync
check "sim_units nosync: exit 4" test $RC -eq 4
check "sim_units nosync: no reply to SYNC" grep -q "no reply to SYNC" "$TMP/nosync.out"

# espdeck sim with a control FIFO: units on command.
FIFO=$TMP/ctl
if ! sim_start --chip esp32 --listen rfc2217://127.0.0.1:0 --no-pacing \
        --units auto --arrive cmd --mac 24:0a:c4:00:10:ff --control "$FIFO"; then
    notok "sim_units control: simulator starts: $(cat "$TMP/sim.err")"
    exit 0
fi
URL=rfc2217://127.0.0.1:$SIM_PORT
timeout 20 "$ESPDECK" info --port "$URL" > "$TMP/i0.out" 2>&1
check "sim_units control: no unit, no answer" grep -q "no reply from the chip" "$TMP/i0.out"
echo arrive > "$FIFO"; sleep 0.2
timeout 20 "$ESPDECK" info --port "$URL" > "$TMP/i1.out" 2>&1
check "sim_units control: first unit has the base MAC" grep -q "24:0a:c4:00:10:ff" "$TMP/i1.out"
echo leave > "$FIFO"; echo arrive > "$FIFO"; sleep 0.2
timeout 20 "$ESPDECK" info --port "$URL" > "$TMP/i2.out" 2>&1
check "sim_units control: the next unit has the next MAC" grep -q "24:0a:c4:00:11:00" "$TMP/i2.out"
sim_stop
check "sim_units control: the simulator exits cleanly" test "$SIM_RC" -eq 0
