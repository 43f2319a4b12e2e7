#!/bin/bash
# When stdout goes away mid-job (a full disk, `| head -1`), batch commands
# keep flashing to the end (the board is never left half-written), drop the
# rest of their output, say so in one sentence on stderr and exit 8 (or the
# job's own failure code).  Never killed by SIGPIPE (141), never exit 0.
source tests/lib.sh

PROFILE=tests/fixtures/profiles/sim-board.yaml
OUTPUT_LOST='standard output failed \(%s\).*the job went on to its end'

# all_skipped URL: a second flash finds every image already written
all_skipped() {
    timeout 60 "$ESPDECK" flash "$PROFILE" --port "$1" --batch \
        >"$TMP/again.out" 2>"$TMP/again.err" &&
        [ "$(grep -c '^Skipped .*: unchanged' "$TMP/again.out")" -eq 3 ]
}

# one_sentence NAME RC WANT_RC PATTERN
one_sentence() {
    if [ "$2" -eq "$3" ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
        grep -qE "$4" "$TMP/err"; then
        ok "cli output $1"
    else
        notok "cli output $1: rc $2 (want $3): $(head -3 "$TMP/err")"
    fi
}

if ! sim_start --chip esp32 --listen rfc2217://127.0.0.1:0; then
    notok "cli output: the simulator did not listen: $(cat "$TMP/sim.err")"
    exit 0
fi
URL="rfc2217://127.0.0.1:$SIM_PORT"

# ---- --json | head -1: the reader leaves after the first event ----
timeout 120 "$ESPDECK" flash "$PROFILE" --port "$URL" --batch --json \
    2>"$TMP/err" | head -1 >"$TMP/out"
rc=${PIPESTATUS[0]}
one_sentence "--json | head -1 exits 8, not SIGPIPE" $rc 8 \
    "$(printf "$OUTPUT_LOST" 'Broken pipe').*written and verified"
check "cli output --json | head -1 got the first event" \
    jq -e '.event' "$TMP/out"
check "cli output --json | head -1 still flashed every image" all_skipped "$URL"

# ---- text | head -2 with --monitor: monitoring stops, no hang ----
timeout 120 "$ESPDECK" flash "$PROFILE" --port "$URL" --batch --force \
    --monitor 60 2>"$TMP/err" | head -2 >"$TMP/out"
rc=${PIPESTATUS[0]}
one_sentence "text | head -2 with --monitor 60 ends early, exit 8" $rc 8 \
    "$(printf "$OUTPUT_LOST" 'Broken pipe')"
sim_stop

# ---- a full disk: in-process board, every batch command ----
SIM='sim:esp32?pacing=0'
if [ -w /dev/full ]; then
    timeout 60 "$ESPDECK" flash "$PROFILE" --port "$SIM" --batch \
        >/dev/full 2>"$TMP/err"
    one_sentence "flash > /dev/full exits 8" $? 8 \
        "$(printf "$OUTPUT_LOST" 'No space left on device')"
    timeout 60 "$ESPDECK" read-flash --port "$SIM" 0x1000 8K "$TMP/r.bin" \
        >/dev/full 2>"$TMP/err"
    rc=$?
    if [ $rc -eq 8 ] && [ "$(stat -c %s "$TMP/r.bin" 2>/dev/null)" = 8192 ] &&
        grep -qE "$(printf "$OUTPUT_LOST" 'No space left on device')" "$TMP/err"; then
        ok "cli output read-flash > /dev/full keeps the file, exits 8"
    else
        notok "cli output read-flash > /dev/full keeps the file, exits 8: rc $rc:" \
            "$(head -3 "$TMP/err")"
    fi
    timeout 60 "$ESPDECK" info --port "$SIM" >/dev/full 2>"$TMP/err"
    one_sentence "info > /dev/full exits 8" $? 8 \
        'standard output failed \(No space left on device\)'
    # a job that fails keeps its own exit code
    timeout 60 "$ESPDECK" flash "$PROFILE" --port "$SIM" --batch \
        --before 'R1|W0.1|R0' >/dev/full 2>"$TMP/err"
    rc=$?
    if [ $rc -eq 4 ] && grep -q 'board booted normally' "$TMP/err"; then
        ok "cli output a failed job keeps its exit code with stdout full"
    else
        notok "cli output a failed job keeps its exit code with stdout full:" \
            "rc $rc: $(head -3 "$TMP/err")"
    fi
else
    skip "cli output > /dev/full: no writable /dev/full here"
fi
exit 0
