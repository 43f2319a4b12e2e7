#!/bin/bash
# Batch text output keeps the user informed, esptool-style (issue 10):
# "Connecting..." with a dot per further attempt, per image "Wrote N bytes
# (M compressed) at 0xADDR in X s (R kbit/s)" and "Hash of data verified.",
# a summary line before "Done!", and an erase that says what it erases and
# how long it took.
source tests/lib.sh
export ESPDECK_FIRMWARE=$(cd "$FW" 2>/dev/null && pwd)

if [ -n "$ESPDECK_FIRMWARE" ] && sim_start --chip esp32 --listen rfc2217://127.0.0.1:0 --no-pacing; then
    URL=rfc2217://127.0.0.1:$SIM_PORT
    timeout 60 "$ESPDECK" flash tests/fixtures/profiles/sim-board.yaml --port "$URL" --batch >"$TMP/out1" 2>"$TMP/err1"
    rc=$?
    check "batch output: first flash exits 0" test $rc -eq 0
    check "batch output: Connecting... is the first line" \
        test "$(head -1 "$TMP/out1")" = "Connecting..."
    check "batch output: Wrote line per image (bytes, compressed, address, time, rate)" \
        grep -qE '^Wrote 24864 bytes \([0-9]+ compressed\) at 0x00001000 in [0-9.]+ (s|ms)( \([0-9.]+ kbit/s\))?$' "$TMP/out1"
    check "batch output: Wrote line for the app at 0x00010000" \
        grep -qE '^Wrote 124416 bytes \([0-9]+ compressed\) at 0x00010000 in [0-9.]+ (s|ms)( \([0-9.]+ kbit/s\))?$' "$TMP/out1"
    check "batch output: Hash of data verified. after each image" \
        test "$(grep -cx 'Hash of data verified.' "$TMP/out1")" -eq 3
    check "batch output: summary line, then Done!" \
        test "$(tail -2 "$TMP/out1" | head -1 | sed -E 's/in [0-9.]+ s$/in T s/')" = \
            "Summary: 3 images written and verified (148.8 KiB) in T s"
    timeout 60 "$ESPDECK" flash tests/fixtures/profiles/sim-board.yaml --port "$URL" --batch >"$TMP/out2" 2>"$TMP/err2"
    check "batch output: unchanged images in the summary" \
        grep -qE '^Summary: nothing written, 3 images unchanged \(skipped\) in [0-9.]+ s$' "$TMP/out2"
    timeout 60 "$ESPDECK" erase --port "$URL" >"$TMP/out3" 2>"$TMP/err3"
    rc=$?
    if [ $rc -eq 0 ] && grep -qx 'Erasing the whole flash (4.0 MiB; this may take a while)...' "$TMP/out3" &&
        grep -qE '^Erased the whole 4 MiB flash in [0-9.]+ s$' "$TMP/out3"; then
        ok "batch output: erase says what and how long"
    else
        notok "batch output: erase says what and how long: rc $rc: $(cat "$TMP/out3" "$TMP/err3")"
    fi
    timeout 60 "$ESPDECK" erase --port "$URL" 0x10000 8K >"$TMP/out4" 2>&1
    check "batch output: region erase says what and how long" \
        grep -qE '^Erased 8.0 KiB at 0x10000 in [0-9.]+ s$' "$TMP/out4"
    sim_stop
else
    skip "batch output: no shared firmware or no simulator"
fi

# A peer that never answers: one dot per further attempt, then the sentence.
silent_start
timeout 60 "$ESPDECK" erase --port "socket://127.0.0.1:$SILENT_PORT" >"$TMP/out5" 2>"$TMP/err5"
rc=$?
if [ $rc -eq 4 ] && [ "$(cat "$TMP/out5")" = "Connecting........." ]; then
    ok "batch output: Connecting... and a dot per attempt"
else
    notok "batch output: Connecting... and a dot per attempt: rc $rc: $(cat "$TMP/out5" "$TMP/err5")"
fi
timeout 60 "$ESPDECK" erase --json --port "socket://127.0.0.1:$SILENT_PORT" >"$TMP/out6" 2>/dev/null
check "batch output: JSON state events count the attempts" \
    grep -q '^{"event":"state","state":"connecting","attempt":7}$' "$TMP/out6"
exit 0
