#!/bin/bash
# The ESP32 ROM's baud and its 8 MHz clock drift (docs/simulator.md, "The
# ESP32 ROM's 8 MHz clock"): espdeck asks the ROM for the rate corrected
# as esptool does, so a board whose RC clock drifted 5 % (the uncorrected
# rate garbles the line) flashes through the ROM at 921600 and holds the
# top of the --baud auto ladder; espdeck sim --ck8m-drift sets the drift.
source tests/lib.sh

head -c 65536 "$ESPDECK" > "$TMP/data.bin"

"$ESPDECK" write-flash --port 'sim:esp32?pacing=0&ck8m-drift=5' --no-stub \
    --baud 921600 --json -v 0x100000 "$TMP/data.bin" >"$TMP/o1" 2>"$TMP/e1"
rc=$?
check "no-stub: ESP32 ROM at 921600 with a 5 % drift exits 0" test $rc -eq 0
[ $rc -eq 0 ] || tail -5 "$TMP/e1"
check "no-stub: the corrected request is logged" \
    grep -q 'ESP32 ROM: its 8 MHz clock calibration makes the 40 MHz crystal 41.99.* MHz: asking for [0-9]* baud to get 921600' "$TMP/o1"
check "no-stub: the JSON says 921600" grep -q '"baud":921600' "$TMP/o1"

if ! sim_start --chip esp32 --listen rfc2217://127.0.0.1:0 --no-pacing \
    --adapter cp2102n --ck8m-drift 5; then
    notok "auto: espdeck sim --ck8m-drift 5 did not start"
    cat "$TMP/sim.err"
    exit 1
fi
"$ESPDECK" write-flash --port "rfc2217://127.0.0.1:$SIM_PORT" --no-stub \
    --baud auto --json -v 0x100000 "$TMP/data.bin" >"$TMP/o2" 2>"$TMP/e2"
rc=$?
check "auto: --no-stub --baud auto on a drifted ESP32 exits 0" test $rc -eq 0
[ $rc -eq 0 ] || tail -5 "$TMP/e2"
check "auto: the ROM holds 3 Mbaud at once" \
    grep -q '"baud":3000000' "$TMP/o2"
check "auto: the request for 3 Mbaud is corrected" \
    grep -q 'asking for [0-9]* baud to get 3000000' "$TMP/o2"
check "auto: no rate failed on the way" \
    test "$(grep -c 'does not hold' "$TMP/o2")" -eq 0
sim_stop

"$ESPDECK" sim --chip esp32c3 --ck8m-drift 5 --listen socket://127.0.0.1:0 \
    >"$TMP/o3" 2>"$TMP/e3"
rc=$?
check "sim: --ck8m-drift on an ESP32-C3 is a usage error" test $rc -eq 2
check "sim: ... saying only the ESP32's ROM has it" \
    grep -q "only the ESP32's does" "$TMP/e3"
"$ESPDECK" sim --chip esp32 --ck8m-drift 30 --listen socket://127.0.0.1:0 \
    >"$TMP/o4" 2>"$TMP/e4"
check "sim: --ck8m-drift 30 is out of range" test $? -eq 2
