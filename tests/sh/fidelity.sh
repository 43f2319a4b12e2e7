#!/bin/bash
# Board variants of `espdeck sim` over RFC 2217: chip revision, a 26 MHz
# ESP32-C2 (espdeck scales its CHANGE_BAUDRATE for the ROM), a board whose
# flash does not answer.
source tests/lib.sh

if sim_start --chip esp32p4 --chip-rev 3.1 --listen rfc2217://127.0.0.1:0; then
    out=$("$ESPDECK" info --port "rfc2217://127.0.0.1:$SIM_PORT" --json 2>&1)
    check "fidelity: --chip-rev 3.1 shows in info --json" \
        grep -q '"revision":"v3.1"' <<< "$out"
    check "fidelity: info --json keeps its keys" \
        grep -q '"chip":"ESP32-P4","mac":' <<< "$out"
    sim_stop
else
    notok "fidelity: simulator with --chip-rev starts: $(cat "$TMP/sim.err")"
fi

if sim_start --chip esp32c2 --xtal 26 --listen rfc2217://127.0.0.1:0; then
    out=$("$ESPDECK" info --port "rfc2217://127.0.0.1:$SIM_PORT" --baud 921600 2>&1)
    rc=$?
    check "fidelity: 26 MHz ESP32-C2 ROM at 921600" test $rc -eq 0
    check "fidelity: crystal 26 MHz" grep -q '^Crystal: *26 MHz' <<< "$out"
    sim_stop
else
    notok "fidelity: simulator with --xtal 26 starts: $(cat "$TMP/sim.err")"
fi

if sim_start --chip esp32 --flash-id 0xffffff --listen rfc2217://127.0.0.1:0; then
    out=$("$ESPDECK" info --port "rfc2217://127.0.0.1:$SIM_PORT" 2>&1)
    check "fidelity: info says no flash answered" grep -qF \
        'no SPI flash answered (JEDEC id ff ff ff): check the flash chip / strapping' <<< "$out"
    sim_stop
else
    notok "fidelity: simulator with --flash-id starts: $(cat "$TMP/sim.err")"
fi

"$ESPDECK" sim --chip esp32s3 --xtal 26 --listen rfc2217://127.0.0.1:0 \
    > /dev/null 2> "$TMP/bad.err"
rc=$?
check "fidelity: a fixed-crystal chip refuses --xtal 26 (exit 2)" test $rc -eq 2
check "fidelity: ... in one sentence" grep -q 'has a fixed 40 MHz crystal' "$TMP/bad.err"
