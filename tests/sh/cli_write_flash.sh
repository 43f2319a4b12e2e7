#!/bin/bash
# esptool-style commands (issue 10): write-flash ADDR FILE ... without a
# profile (chip detected, the profile checks, MD5 verify, skip-unchanged),
# esptool's spellings as aliases, "did you mean" for an unknown command.
source tests/lib.sh
H=$FW/Hello-world
if [ ! -d "$H/ESP32" ]; then
    skip "cli write-flash: no shared firmware"
    exit 0
fi
SIM='sim:esp32?pacing=0'

if sim_start --chip esp32 --listen rfc2217://127.0.0.1:0 --no-pacing; then
    URL=rfc2217://127.0.0.1:$SIM_PORT
    timeout 60 "$ESPDECK" write-flash -p "$URL" 0x1000 "$H/ESP32/bootloader.bin" \
        0x8000 "$H/ESP32/partition-table.bin" 0x10000 "$H/ESP32/hello_world.bin" \
        >"$TMP/out1" 2>"$TMP/err1"
    rc=$?
    if [ $rc -eq 0 ] && [ "$(grep -cx 'Hash of data verified.' "$TMP/out1")" -eq 3 ] &&
        grep -q '^Wrote 124416 bytes (.*) at 0x00010000 ' "$TMP/out1"; then
        ok "cli write-flash: three files written and verified"
    else
        notok "cli write-flash: three files written and verified: rc $rc: $(cat "$TMP/err1")"
    fi
    timeout 60 "$ESPDECK" write_flash -p "$URL" 0x1000 "$H/ESP32/bootloader.bin" \
        0x8000 "$H/ESP32/partition-table.bin" 0x10000 "$H/ESP32/hello_world.bin" \
        >"$TMP/out2" 2>"$TMP/err2"
    check "cli write_flash (esptool spelling): unchanged files skipped" \
        grep -q '^Summary: nothing written, 3 images unchanged' "$TMP/out2"
    timeout 60 "$ESPDECK" read_flash -p "$URL" 0x10000 124416 "$TMP/app.bin" >/dev/null 2>&1
    check "cli read_flash (esptool spelling): reads back what write-flash wrote" \
        cmp -s "$TMP/app.bin" "$H/ESP32/hello_world.bin"
    timeout 60 "$ESPDECK" erase_region -p "$URL" 0x10000 0x1000 >"$TMP/out3" 2>&1
    check "cli erase_region (esptool spelling)" grep -q '^Erased 4.0 KiB at 0x10000 in' "$TMP/out3"
    sim_stop
else
    notok "cli write-flash: espdeck sim did not start"
fi

# the board is another chip than the files were built for
timeout 60 "$ESPDECK" write-flash -p 'sim:esp32c3?pacing=0' 0x1000 "$H/ESP32/bootloader.bin" \
    >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -eq 4 ] && grep -q "^espdeck: bootloader.bin was built for ESP32, but the board on sim:esp32c3?pacing=0 is an ESP32-C3: use the ESP32-C3 build, or the right port$" "$TMP/err"; then
    ok "cli write-flash: a file for another chip is refused before writing"
else
    notok "cli write-flash: a file for another chip is refused before writing: rc $rc: $(cat "$TMP/err")"
fi
# the profile checks, in the command line's words
timeout 60 "$ESPDECK" write-flash -p "$SIM" 0x1000 "$H/ESP32/bootloader.bin" \
    0x1800 "$H/ESP32/hello_world.bin" >/dev/null 2>"$TMP/err"
rc=$?
check "cli write-flash: unaligned ADDR is a profile error (exit 3)" \
    test $rc -eq 3 -a "$(cat "$TMP/err")" = "espdeck: image 'hello_world.bin' at 0x1800 is not on a 4 KiB sector boundary (flash is erased in 4 KiB sectors)"
timeout 60 "$ESPDECK" write-flash --chip esp32c3 -p "$SIM" 0x0 "$H/ESP32/bootloader.bin" >/dev/null 2>"$TMP/err"
rc=$?
check "cli write-flash: --chip checked against the file's header" \
    test $rc -eq 3 -a -n "$(grep -- 'but --chip is esp32c3 (id 5); use the ESP32-C3 build or change --chip$' "$TMP/err")"
"$ESPDECK" write-flash -p "$SIM" 0x1000 >/dev/null 2>"$TMP/err"
check "cli write-flash: ADDR without FILE is a usage error" \
    test $? -eq 2 -a -n "$(grep "'0x1000' has no FILE" "$TMP/err")"

# aliases for info, and did-you-mean
for a in flash_id chip_id read_mac; do
    out=$(timeout 60 "$ESPDECK" $a -p "$SIM" 2>&1); rc=$?
    check "cli $a (esptool spelling) runs info" test $rc -eq 0 -a -n "$(echo "$out" | grep '^MAC:')"
done
"$ESPDECK" erase_region -p "$SIM" >/dev/null 2>"$TMP/err"
check "cli erase_region without ADDR SIZE does not erase everything" test $? -eq 2
for pair in "flsh:flash" "write_flsh:write_flash" "raed-flash:read-flash"; do
    "$ESPDECK" "${pair%%:*}" >/dev/null 2>"$TMP/err"
    rc=$?
    check "cli unknown command ${pair%%:*}: did you mean ${pair##*:}" \
        test $rc -eq 2 -a "$(cat "$TMP/err")" = "espdeck: unknown command '${pair%%:*}'; did you mean '${pair##*:}'? (espdeck --help lists them)"
done
exit 0
