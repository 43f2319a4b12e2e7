#!/bin/bash
# A board left running the flasher stub: espdeck remembers per port that it
# left a stub running and the baud it was driving (links.json in the run's
# XDG_STATE_HOME) and carries on from there next time:
#  - two plain flashes in a row over socket:// (no reset lines: the first
#    leaves the stub at 921600; the second must not tell it the old baud is
#    115200);
#  - kill -9 in the middle of a write, then the same flash again;
#  - rfc2217:// with --after no-reset-stub, then --before no-reset: the
#    simulated UART garbles everything at the wrong baud, so the second run
#    only works if it looks at 921600 first;
#  - with reset lines, a failed flash still runs the --after reset.
source tests/lib.sh

PROFILE=tests/fixtures/profiles/hw/esp32-hello-world.yaml
HW=$FW/Hello-world/ESP32
export ESPDECK_FIRMWARE=$FW
if [ ! -f "$HW/hello_world.bin" ]; then
    skip "link_state: shared firmware folder absent ($FW)"
    exit 0
fi
LINKS=${XDG_STATE_HOME:-$HOME/.local/state}/espdeck/links.json

# ---- two plain flashes in a row over socket:// ----
if ! sim_start --chip esp32 --listen socket://127.0.0.1:0 --no-pacing; then
    notok "link_state: espdeck sim did not start listening"
    exit 1
fi
URL=socket://127.0.0.1:$SIM_PORT
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch -v >"$TMP/o1" 2>"$TMP/e1"
check "socket: first flash exits 0" test $? -eq 0
check "socket: links.json remembers the stub at 921600" \
    grep -q "\"$URL\":{\"stub\":true,\"baud\":921600}" "$LINKS"
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --force -v \
    >"$TMP/o2" 2>"$TMP/e2"
rc=$?
check "socket: second flash exits 0" test $rc -eq 0
[ $rc -eq 0 ] || tail -5 "$TMP/e2"
check "socket: the second finds the stub left running" \
    grep -q 'flasher stub left running at 921600 baud answers' "$TMP/e2"
check "socket: no CHANGE_BAUDRATE error" \
    test "$(grep -c 'CHANGE_BAUDRATE' "$TMP/e2")" -eq 0
check "socket: the second writes and verifies" \
    test "$(grep -cx 'Finished programming' "$TMP/o2")" -eq 3
sim_stop

# ---- kill -9 in the middle of a write, then again ----
if ! sim_start --chip esp32 --listen socket://127.0.0.1:0; then
    notok "link_state: paced espdeck sim did not start listening"
    exit 1
fi
URL=socket://127.0.0.1:$SIM_PORT
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --no-compress \
    >"$TMP/ok" 2>"$TMP/ek" &
FP=$!
i=0
while [ $i -lt 400 ] && ! grep -q '^Loading factory' "$TMP/ok"; do
    sleep 0.05; i=$((i + 1))
done
sleep 0.3
kill -KILL "$FP"
wait "$FP" 2>/dev/null
check "kill -9: it was writing the app when killed" \
    grep -q '^Loading factory' "$TMP/ok"
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch -v >"$TMP/or" 2>"$TMP/er"
rc=$?
check "kill -9: the re-run exits 0" test $rc -eq 0
[ $rc -eq 0 ] || tail -5 "$TMP/er"
check "kill -9: the re-run writes the app" grep -qx 'Loading factory...' "$TMP/or"
sim_stop

# ---- rfc2217: --after no-reset-stub, then --before no-reset ----
if ! sim_start --chip esp32 --listen rfc2217://127.0.0.1:0 --no-pacing; then
    notok "link_state: rfc2217 espdeck sim did not start listening"
    exit 1
fi
URL=rfc2217://127.0.0.1:$SIM_PORT
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --after no-reset-stub \
    >"$TMP/o3" 2>"$TMP/e3"
check "rfc2217: flash leaving the stub running exits 0" test $? -eq 0
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --before no-reset -v \
    >"$TMP/o4" 2>"$TMP/e4"
rc=$?
check "rfc2217: no-reset finds the stub at 921600" test $rc -eq 0
[ $rc -eq 0 ] || tail -3 "$TMP/e4"
check "rfc2217: it said so" \
    grep -q 'flasher stub left running at 921600 baud answers' "$TMP/e4"
sim_stop

# ---- with reset lines a failed flash still resets the board ----
# (an ESP32-C3 board for the ESP32 profile: fails after connecting)
if ! sim_start --chip esp32c3 --listen rfc2217://127.0.0.1:0 --no-pacing; then
    notok "link_state: esp32c3 espdeck sim did not start listening"
    exit 1
fi
URL=rfc2217://127.0.0.1:$SIM_PORT
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch -v >"$TMP/o5" 2>"$TMP/e5"
check "failure: the wrong-chip flash fails" test $? -ne 0
check "failure: the board is reset afterwards" \
    grep -q 'resetting the board after the failure' "$TMP/e5"
# reset into its (empty) flash, not waiting in download mode any more
"$ESPDECK" info --port "$URL" --before no-reset >"$TMP/o6" 2>"$TMP/e6"
check "failure: the board no longer sits in the loader" test $? -ne 0
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --after no-reset -v \
    >"$TMP/o7" 2>"$TMP/e7"
check "failure with --after no-reset: no reset" \
    test "$(grep -c 'resetting the board after the failure' "$TMP/e7")" -eq 0
sim_stop
