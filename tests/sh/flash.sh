#!/bin/bash
# espdeck flash --batch against `espdeck sim` over RFC 2217: the seed's
# progress lines, the flash file holds the images at their offsets, a second
# run skips unchanged images, --json lines parse, read-flash and erase, and
# the exit codes of a bad profile and of a port where nothing listens.
source tests/lib.sh

PROFILE=tests/fixtures/profiles/hw/esp32-hello-world.yaml
HW=$FW/Hello-world/ESP32
export ESPDECK_FIRMWARE=$FW
if [ ! -f "$HW/hello_world.bin" ]; then
    skip "flash: shared firmware folder absent ($FW), nothing to flash"
    exit 0
fi

# same_at FILE OFFSET IMAGE: FILE holds IMAGE at OFFSET
same_at() {
    local n
    n=$(stat -c %s "$3")
    cmp -s <(dd if="$1" bs=4096 iflag=skip_bytes,count_bytes skip=$(($2)) \
        count="$n" 2>/dev/null) "$3"
}
parse_json_lines() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    o = json.loads(line)
    assert "event" in o, line
    n += 1
assert n > 0
' <"$1"
    else
        node -e '
const l = require("fs").readFileSync(0, "utf8").trim().split("\n");
for (const s of l) { if (!("event" in JSON.parse(s))) process.exit(1); }
if (!l.length) process.exit(1);' <"$1"
    fi
}

# ---- flash, then check the flash file ----
if ! sim_start --chip esp32 --listen rfc2217://127.0.0.1:0 \
    --flash-file "$TMP/f.bin"; then
    notok "flash: espdeck sim did not start listening"
    cat "$TMP/sim.err" >&2
    exit 1
fi
URL=rfc2217://127.0.0.1:$SIM_PORT

"$ESPDECK" flash "$PROFILE" --port "$URL" --batch >"$TMP/out1" 2>"$TMP/err1"
rc=$?
check "flash: exits 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || cat "$TMP/err1" >&2
check "flash: Connected to target line" \
    grep -qE '^Connected to target \(ESP32-D0WDQ6-V3 \(revision v3\.0\), MAC ([0-9a-f]{2}:){5}[0-9a-f]{2}, stub, 921600 baud\)$' "$TMP/out1"
for line in 'Loading bootloader...' 'Loading partition-table...' \
    'Loading factory...' 'Erasing flash (this may take a while)...' \
    'Start programming' 'Progress: 50 %' 'Progress: 100 %' \
    'Finished programming' 'Done!'; do
    check "flash: prints '$line'" grep -qxF "$line" "$TMP/out1"
done
check "flash: three images finished" \
    test "$(grep -cx 'Finished programming' "$TMP/out1")" -eq 3
check "flash: Done! is the last line" test "$(tail -1 "$TMP/out1")" = "Done!"

"$ESPDECK" flash "$PROFILE" --port "$URL" --batch >"$TMP/out2" 2>"$TMP/err2"
rc=$?
check "flash again: exits 0" test "$rc" -eq 0
check "flash again: every image skipped as unchanged" \
    test "$(grep -c '^Skipped .*: unchanged$' "$TMP/out2")" -eq 3
check "flash again: nothing programmed" \
    test "$(grep -c 'Start programming' "$TMP/out2")" -eq 0

"$ESPDECK" flash "$PROFILE" --port "$URL" --batch --json --force \
    >"$TMP/json" 2>"$TMP/errj"
rc=$?
check "flash --json: exits 0" test "$rc" -eq 0
check "flash --json: every line is a JSON object with an event" \
    parse_json_lines "$TMP/json"
check "flash --json: a chip event" grep -q '"event":"chip"' "$TMP/json"
check "flash --json: done parts" \
    test "$(grep -c '"phase":"done"' "$TMP/json")" -eq 3
check "flash --json: the last line is finished, status 0" \
    grep -q '"event":"finished","status":0' <(tail -1 "$TMP/json")

"$ESPDECK" read-flash --port "$URL" 0x1000 "$(stat -c %s "$HW/bootloader.bin")" \
    "$TMP/boot.read" >"$TMP/outr" 2>"$TMP/errr"
rc=$?
check "read-flash: exits 0" test "$rc" -eq 0
check "read-flash: the bootloader reads back byte for byte" \
    cmp -s "$TMP/boot.read" "$HW/bootloader.bin"

"$ESPDECK" erase --port "$URL" 0x9000 0x6000 >"$TMP/oute" 2>"$TMP/erre"
rc=$?
check "erase region: exits 0" test "$rc" -eq 0
"$ESPDECK" read-flash --port "$URL" 0x9000 0x6000 "$TMP/nvs.read" \
    >/dev/null 2>&1
check "erase region: reads back as 0xFF" \
    cmp -s "$TMP/nvs.read" <(head -c $((0x6000)) /dev/zero | tr '\0' '\377')

sim_stop
check "flash file: bootloader at 0x1000" same_at "$TMP/f.bin" 0x1000 "$HW/bootloader.bin"
check "flash file: partition table at 0x8000" \
    same_at "$TMP/f.bin" 0x8000 "$HW/partition-table.bin"
check "flash file: app at 0x10000" same_at "$TMP/f.bin" 0x10000 "$HW/hello_world.bin"

# ---- --monitor prints the app's output ----
if sim_start --chip esp32 --listen rfc2217://127.0.0.1:0 \
    --flash-file "$TMP/f.bin"; then
    "$ESPDECK" flash "$PROFILE" --port "rfc2217://127.0.0.1:$SIM_PORT" \
        --batch --monitor 3 >"$TMP/outm" 2>"$TMP/errm"
    rc=$?
    check "flash --monitor: exits 0" test "$rc" -eq 0
    check "flash --monitor: the app says Hello world!" \
        grep -q 'Hello world!' "$TMP/outm"
    sim_stop
fi

# ---- failures and their exit codes ----
"$ESPDECK" flash "$TMP/missing.yaml" --port "$URL" --batch >/dev/null 2>"$TMP/errp"
rc=$?
check "bad profile: exit 3" test "$rc" -eq 3
check "bad profile: one sentence naming the file" grep -q 'missing.yaml' "$TMP/errp"

printf 'name: broken\nchip: esp32\nimages: [\n' >"$TMP/broken.yaml"
"$ESPDECK" flash "$TMP/broken.yaml" --port "$URL" --batch --json >"$TMP/jb" 2>/dev/null
rc=$?
check "broken profile --json: exit 3" test "$rc" -eq 3
check "broken profile --json: a finished event with exit 3" \
    grep -q '"exit":3' "$TMP/jb"

NP=$(free_port)
timeout 60 "$ESPDECK" flash "$PROFILE" --port "rfc2217://127.0.0.1:$NP" --batch \
    >/dev/null 2>"$TMP/errn"
rc=$?
check "no server: exit 4" test "$rc" -eq 4
check "no server: says so on stderr" test -s "$TMP/errn"

"$ESPDECK" flash "$PROFILE" --batch --baud fast >/dev/null 2>&1
check "bad --baud: exit 2" test "$?" -eq 2

if sim_start --chip esp32c3 --listen rfc2217://127.0.0.1:0 \
    --flash-file "$TMP/c3.bin"; then
    timeout 60 "$ESPDECK" flash "$PROFILE" \
        --port "rfc2217://127.0.0.1:$SIM_PORT" \
        --batch >/dev/null 2>"$TMP/errw"
    rc=$?
    check "wrong chip: exit 4" test "$rc" -eq 4
    check "wrong chip: names both chips" \
        grep -q 'the profile is for ESP32 but the board on .* is an ESP32-C3' "$TMP/errw"
    sim_stop
fi
exit 0
