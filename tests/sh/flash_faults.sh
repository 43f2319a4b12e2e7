#!/bin/bash
# espdeck flash when things go wrong: SIGINT mid-write cancels cleanly
# (exit 6, the interrupted partition said to be incomplete, the rest "not
# written"); --no-stub flashes through the ROM and says so; a stub that never
# answers OHAI falls back to the ROM; an app too big for its partition is a
# profile error before any board is touched.
source tests/lib.sh

PROFILE=tests/fixtures/profiles/hw/esp32-hello-world.yaml
HW=$FW/Hello-world/ESP32
export ESPDECK_FIRMWARE=$FW
if [ ! -f "$HW/hello_world.bin" ]; then
    skip "flash_faults: shared firmware folder absent ($FW)"
    exit 0
fi

if ! sim_start --chip esp32 --listen rfc2217://127.0.0.1:0 \
    --flash-file "$TMP/f.bin"; then
    notok "flash_faults: espdeck sim did not start listening"
    exit 1
fi
URL=rfc2217://127.0.0.1:$SIM_PORT

# ---- SIGINT while the app is being written (paced at 115200 baud) ----
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --baud 115200 --force \
    --no-compress >"$TMP/outc" 2>"$TMP/errc" &
FP=$!
i=0
while [ $i -lt 300 ] && ! grep -q '^Loading factory' "$TMP/outc"; do
    sleep 0.05; i=$((i + 1))
done
sleep 0.3
kill -INT "$FP"
wait "$FP"
rc=$?
check "SIGINT: exit 6" test "$rc" -eq 6
check "SIGINT: the app is stated incomplete" \
    grep -qE '^Cancelled factory: cancelled at [0-9]+ %: this partition is incomplete$' "$TMP/outc"
check "SIGINT: earlier images finished" \
    test "$(grep -cx 'Finished programming' "$TMP/outc")" -eq 2
check "SIGINT: one sentence on stderr" grep -q 'incomplete' "$TMP/errc"
check "SIGINT: no Done!" test "$(grep -c '^Done!' "$TMP/outc")" -eq 0

# The board is still usable: flash again, the app is rewritten, not skipped.
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch >"$TMP/outa" 2>"$TMP/erra"
rc=$?
check "after cancel: flash again exits 0" test "$rc" -eq 0
check "after cancel: the app is written again" grep -qx 'Loading factory...' "$TMP/outa"
check "after cancel: the bootloader is unchanged" \
    grep -qx 'Skipped bootloader: unchanged' "$TMP/outa"

# ---- --no-stub: the ROM loader, said on stderr ----
"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --no-stub --force -v \
    >"$TMP/outr" 2>"$TMP/errr"
rc=$?
check "--no-stub: exits 0" test "$rc" -eq 0
check "--no-stub: connected to the ROM loader" \
    grep -q '^Connected to target (ESP32-D0WDQ6-V3 (revision v3.0), MAC .*, ROM loader, [0-9]* baud)$' "$TMP/outr"
check "--no-stub: says it flashes through the ROM" grep -q 'ROM loader' "$TMP/errr"

# ---- a stub that never says OHAI (a RAM app posing as the stub) ----
RAMAPP=$FW/RAM_APP/ESP32/app.bin
if [ -f "$RAMAPP" ] && command -v python3 >/dev/null 2>&1; then
    mkdir -p "$TMP/stubs"
    python3 - "$RAMAPP" "$TMP/stubs/esp32.json" <<'EOF'
import base64, json, struct, sys
b = open(sys.argv[1], "rb").read()
entry = struct.unpack_from("<I", b, 4)[0]
pos, segs = 24, []
for _ in range(b[1]):
    a, l = struct.unpack_from("<II", b, pos)
    segs.append((a, b[pos + 8:pos + 8 + l]))
    pos += 8 + l
# the segment with the app descriptor makes the simulated ROM run an app
a, d = next(s for s in segs if s[1][:4] == bytes.fromhex("3254cdab"))
json.dump({"entry": entry, "text_start": a,
           "text": base64.b64encode(d).decode()}, open(sys.argv[2], "w"))
EOF
    "$ESPDECK" flash "$PROFILE" --port "$URL" --batch --force \
        --stub-dir "$TMP/stubs" >"$TMP/outs" 2>"$TMP/errs"
    rc=$?
    check "stub without OHAI: falls back and exits 0" test "$rc" -eq 0
    check "stub without OHAI: says the stub did not start" \
        grep -q 'the flasher stub did not start' "$TMP/errs"
    check "stub without OHAI: flashed through the ROM loader" \
        grep -q ', ROM loader, [0-9]* baud)$' "$TMP/outs"
else
    skip "stub without OHAI: needs RAM_APP/ESP32/app.bin and python3"
fi
sim_stop

# ---- an app larger than its partition: exit 3 before any board ----
big=$TMP/big.bin
head -c $((0x110000)) /dev/zero >"$big"
cat >"$TMP/big.yaml" <<EOF
name: too big
chip: esp32
port: rfc2217://127.0.0.1:1
flash: {mode: keep, freq: keep, size: 4MB}
partition_table:
  offset: 0x8000
  entries:
    - {name: factory, type: app, subtype: factory, offset: 0x10000, size: 1M}
images:
  - partition: factory
    file: $big
EOF
"$ESPDECK" flash "$TMP/big.yaml" --batch >/dev/null 2>"$TMP/errb"
rc=$?
check "oversized app: exit 3" test "$rc" -eq 3
check "oversized app: says it is larger than its partition" grep -q "larger than partition 'factory'" "$TMP/errb"
exit 0
