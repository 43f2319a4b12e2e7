#!/bin/bash
# --baud auto against simulated USB-serial adapters (espdeck sim --adapter):
# a CP2102 (1 Mbps) makes the ladder step down from 3 Mbaud to 921600 and
# the rate is remembered per adapter in links.json, so the next run starts
# there; a CP2102N (3 Mbps) holds 3 Mbaud at once; a socket:// link (no
# reset lines, no way back from a rate that fails) stays at 921600.
source tests/lib.sh

PROFILE=tests/fixtures/profiles/hw/esp32-hello-world.yaml
export ESPDECK_FIRMWARE=$FW
if [ ! -f "$FW/Hello-world/ESP32/hello_world.bin" ]; then
    skip "baud_auto: shared firmware folder absent ($FW)"
    exit 0
fi
LINKS=${XDG_STATE_HOME:-$HOME/.local/state}/espdeck/links.json

if ! sim_start --chip esp32 --listen rfc2217://127.0.0.1:0 --no-pacing \
    --adapter cp2102; then
    notok "baud_auto: espdeck sim --adapter cp2102 did not start"
    exit 1
fi
URL=rfc2217://127.0.0.1:$SIM_PORT
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --baud auto -v \
    >"$TMP/o1" 2>"$TMP/e1"
rc=$?
check "cp2102: flash with --baud auto exits 0" test $rc -eq 0
[ $rc -eq 0 ] || tail -5 "$TMP/e1"
check "cp2102: 3 Mbaud does not hold" \
    grep -q '^espdeck: 3000000 baud does not hold' "$TMP/e1"
check "cp2102: steps down to 921600" \
    grep -q -- '--baud auto: 921600 baud holds' "$TMP/e1"
check "cp2102: the chosen baud is in the chip line" \
    grep -q '921600 baud' "$TMP/e1"
check "cp2102: remembered per adapter" \
    grep -q "\"$URL\":{\"baud\":921600}" "$LINKS"
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --baud auto --force -v \
    >"$TMP/o2" 2>"$TMP/e2"
check "cp2102: the next run exits 0" test $? -eq 0
check "cp2102: the next run starts at the remembered rate" \
    test "$(grep -c 'does not hold' "$TMP/e2")" -eq 0
check "cp2102: and uses it" grep -q -- '--baud auto: 921600 baud holds' "$TMP/e2"
sim_stop

if ! sim_start --chip esp32 --listen rfc2217://127.0.0.1:0 --no-pacing \
    --adapter cp2102n; then
    notok "baud_auto: espdeck sim --adapter cp2102n did not start"
    exit 1
fi
URL=rfc2217://127.0.0.1:$SIM_PORT
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --baud auto --json \
    >"$TMP/o3" 2>"$TMP/e3"
check "cp2102n: flash with --baud auto exits 0" test $? -eq 0
check "cp2102n: 3 Mbaud, said in the JSON chip event" \
    grep -q '"baud":3000000' "$TMP/o3"
sim_stop

if ! sim_start --chip esp32 --listen socket://127.0.0.1:0 --no-pacing \
    --adapter cp2102n; then
    notok "baud_auto: socket espdeck sim did not start"
    exit 1
fi
URL=socket://127.0.0.1:$SIM_PORT
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --baud auto -v \
    >"$TMP/o4" 2>"$TMP/e4"
check "socket: flash with --baud auto exits 0" test $? -eq 0
check "socket: no climb above 921600 without reset lines" \
    grep -q -- '--baud auto: 921600 baud holds' "$TMP/e4"
sim_stop

# ---- errors in the middle of a write: one rung down, resume ----
# (the simulator's fault injection damages bytes whatever the rate, so
# this checks the mechanism: step down after the error, resume, verify)
if ! sim_start --chip esp32 --listen rfc2217://127.0.0.1:0 --no-pacing \
    --adapter cp2102n --fault h2b:flip=3e-5,seed=2; then
    notok "baud_auto: faulty espdeck sim did not start"
    exit 1
fi
URL=rfc2217://127.0.0.1:$SIM_PORT
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --baud auto -v \
    >"$TMP/o5" 2>"$TMP/e5"
rc=$?
check "mid-write: flash with errors exits 0" test $rc -eq 0
[ $rc -eq 0 ] || tail -5 "$TMP/e5"
check "mid-write: an error in the write steps down from 3 Mbaud" \
    grep -q 'stepping down from 3000000 to 2000000 baud after the error' "$TMP/e5"
check "mid-write: every image verified" \
    test "$(grep -cx 'Finished programming' "$TMP/o5")" -eq 3
check "mid-write: the lower rate is remembered" \
    grep -q "\"$URL\":{\"baud\":\(2000000\|1500000\|921600\|460800\)}" "$LINKS"
sim_stop

# ---- no baud named anywhere: the port decides (docs/cli.md) ----
# the same profile without its baud: line
NOBAUD=$TMP/nobaud.yaml
grep -v '^baud:' "$PROFILE" >"$NOBAUD"
export XDG_CONFIG_HOME=$TMP/config-default
mkdir -p "$XDG_CONFIG_HOME/espdeck"
if ! sim_start --chip esp32 --listen rfc2217://127.0.0.1:0 --no-pacing \
    --adapter cp2102n; then
    notok "baud_auto: default rfc2217 espdeck sim did not start"
    exit 1
fi
URL=rfc2217://127.0.0.1:$SIM_PORT
"$ESPDECK" flash "$NOBAUD" --port "$URL" --batch --json \
    >"$TMP/o6" 2>"$TMP/e6"
check "default: rfc2217 flashes with no baud named" test $? -eq 0
check "default: rfc2217 takes --baud auto (3 Mbaud in the JSON)" \
    grep -q '"baud":3000000' "$TMP/o6"
"$ESPDECK" flash "$NOBAUD" --port "$URL" --batch --force \
    >"$TMP/o7" 2>"$TMP/e7"
check "default: the batch chip line says the rate auto chose" \
    grep -q '^Connected to target (.*, stub, 3000000 baud)$' "$TMP/o7"
"$ESPDECK" flash "$NOBAUD" --port "$URL" --batch --force --baud 460800 \
    --json >"$TMP/o8" 2>"$TMP/e8"
check "default: --baud N wins" grep -q '"baud":460800' "$TMP/o8"
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --force --json \
    >"$TMP/o9" 2>"$TMP/e9"
check "default: the profile's baud wins" grep -q '"baud":921600' "$TMP/o9"
printf 'baud: 230400\n' >"$XDG_CONFIG_HOME/espdeck/config.yaml"
"$ESPDECK" flash "$NOBAUD" --port "$URL" --batch --force --json \
    >"$TMP/o10" 2>"$TMP/e10"
check "default: config.yaml's baud wins where the profile names none" \
    grep -q '"baud":230400' "$TMP/o10"
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --force --json \
    >"$TMP/o11" 2>"$TMP/e11"
check "default: ... but not over the profile's" \
    grep -q '"baud":921600' "$TMP/o11"
rm -f "$XDG_CONFIG_HOME/espdeck/config.yaml"
sim_stop

if ! sim_start --chip esp32 --listen socket://127.0.0.1:0 --no-pacing \
    --adapter cp2102n; then
    notok "baud_auto: default socket espdeck sim did not start"
    exit 1
fi
URL=socket://127.0.0.1:$SIM_PORT
"$ESPDECK" flash "$NOBAUD" --port "$URL" --batch --json -v \
    >"$TMP/o12" 2>"$TMP/e12"
check "default: socket:// flashes with no baud named" test $? -eq 0
check "default: socket:// keeps 921600" grep -q '"baud":921600' "$TMP/o12"
check "default: socket:// climbs no ladder" \
    test "$(grep -c -- '--baud auto' "$TMP/e12")" -eq 0
sim_stop

# in-process: a sim: board behind a simulated USB adapter is a USB port
"$ESPDECK" write-flash --port 'sim:esp32?pacing=0&adapter=ch340' --json \
    0x10000 "$FW/Hello-world/ESP32/hello_world.bin" >"$TMP/o13" 2>"$TMP/e13"
check "default: a USB sim: port (CH340) takes auto: 2 Mbaud" \
    grep -q '"baud":2000000' "$TMP/o13"
"$ESPDECK" write-flash --port 'sim:esp32?pacing=0' --json \
    0x10000 "$FW/Hello-world/ESP32/hello_world.bin" >"$TMP/o14" 2>"$TMP/e14"
check "default: a plain sim: UART keeps 921600" \
    grep -q '"baud":921600' "$TMP/o14"

# ---- USB-Serial/JTAG: no baud to pick (docs/simulator.md) ----
C3=$FW/Hello-world/ESP32_C3/hello_world.bin
"$ESPDECK" write-flash --port 'sim:esp32c3?pacing=0&adapter=usb-serial-jtag' \
    --json 0x10000 "$C3" >"$TMP/o15" 2>"$TMP/e15"
check "usb-jtag: a USB-Serial/JTAG sim: port flashes with no baud named" \
    test $? -eq 0
check "usb-jtag: the JSON chip event says usb_jtag" \
    grep -q '"baud":115200,"usb_jtag":true' "$TMP/o15"
"$ESPDECK" write-flash --port 'sim:esp32c3?pacing=0&adapter=usb-serial-jtag' \
    -v 0x10000 "$C3" >"$TMP/o16" 2>"$TMP/e16"
check "usb-jtag: reset by its own sequence" \
    grep -q 'reset usb-jtag-serial' "$TMP/e16"
check "usb-jtag: auto keeps the baud and says why" \
    grep -q 'USB-Serial/JTAG: no baud to pick (the link runs at USB speed whatever the baud): --baud auto keeps 115200' "$TMP/e16"
check "usb-jtag: the batch chip line names the link, not a baud" \
    grep -q '^Connected to target (.*, stub, USB-Serial/JTAG)$' "$TMP/o16"
# over RFC 2217 the host cannot tell: it asks for the USB-JTAG reset
if ! sim_start --chip esp32s3 --listen rfc2217://127.0.0.1:0 --no-pacing \
    --adapter usb-serial-jtag; then
    notok "baud_auto: usb-serial-jtag espdeck sim did not start"
    exit 1
fi
URL=rfc2217://127.0.0.1:$SIM_PORT
"$ESPDECK" write-flash --port "$URL" --before usb-reset --json \
    0x10000 "$FW/Hello-world/ESP32_S3/hello_world.bin" >"$TMP/o17" 2>"$TMP/e17"
rc=$?
check "usb-jtag: over rfc2217 with --before usb-reset exits 0" test $rc -eq 0
[ $rc -eq 0 ] || tail -3 "$TMP/e17"
check "usb-jtag: any rate holds there (the baud changes nothing)" \
    grep -q '"baud":3000000' "$TMP/o17"
# the classic reset boots its flash: one sentence that names the fix
"$ESPDECK" write-flash --port "$URL" \
    0x10000 "$FW/Hello-world/ESP32_S3/hello_world.bin" >"$TMP/o19" 2>"$TMP/e19"
check "usb-jtag: over rfc2217 without usb-reset: exit 4" test $? -eq 4
check "usb-jtag: ... and the sentence names --before usb-reset" \
    grep -q 'behind RFC 2217 needs --before usb-reset)$' "$TMP/e19"
sim_stop

# a local serial port that is not USB (a pty: libserialport's transport is
# native) keeps the fixed 921600
"$ESPDECK" sim --chip esp32 --listen "pty:$TMP/ttyS" --no-pacing \
    2>"$TMP/pty.err" &
PTY_PID=$!
T_PIDS="$T_PIDS $PTY_PID"
i=0
while [ ! -e "$TMP/ttyS" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
"$ESPDECK" write-flash --port "$TMP/ttyS" --json -v \
    0x10000 "$FW/Hello-world/ESP32/hello_world.bin" >"$TMP/o18" 2>"$TMP/e18"
check "default: a local non-USB serial port flashes with no baud named" \
    test $? -eq 0
check "default: a local non-USB serial port keeps 921600" \
    grep -q '"baud":921600,"usb_jtag":false' "$TMP/o18"
check "default: ... and climbs no ladder" \
    test "$(grep -c 'baud holds' "$TMP/o18")" -eq 0
kill -TERM "$PTY_PID" 2>/dev/null
wait "$PTY_PID" 2>/dev/null
