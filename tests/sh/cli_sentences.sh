#!/bin/bash
# Failure sentences of the CLI carry the likely fix: an unwritable
# read-flash FILE, a missing image in `espdeck check` (own and shipped
# profiles), a cancelled batch flash.
source tests/lib.sh

# sentence NAME RC WANT_RC PATTERN: one line on stderr matching PATTERN
sentence() {
    if [ "$2" -eq "$3" ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
        grep -qE -- "$4" "$TMP/err"; then
        ok "cli sentence $1"
    else
        notok "cli sentence $1: rc $2 (want $3): $(head -3 "$TMP/err")"
    fi
}

timeout 60 "$ESPDECK" read-flash --port sim:esp32 0 4K "$TMP/no/dir/x.bin" \
    >"$TMP/out" 2>"$TMP/err"
sentence "read-flash to a missing directory" $? 7 \
    "cannot write $TMP/no/dir/x.bin: the folder $TMP/no/dir does not exist: create it, or read into another folder"

timeout 60 "$ESPDECK" check tests/fixtures/profiles/bad-missing-file.yaml \
    >"$TMP/err" 2>&1
rc=$?
if [ $rc -eq 3 ] && grep -q "5:11: error: cannot read image .*does-not-exist.bin: No such file or directory: check the path (a relative one starts at the profile's folder, tests/fixtures/profiles)" "$TMP/err"; then
    ok "cli sentence check: missing image of an own profile"
else
    notok "cli sentence check: missing image of an own profile: rc $rc: $(head -3 "$TMP/err")"
fi
ESPDECK_FIRMWARE=$TMP/nofirmware timeout 60 "$ESPDECK" check \
    tests/fixtures/profiles/sim-board.yaml >"$TMP/err" 2>&1
rc=$?
if [ $rc -eq 3 ] && grep -q "cannot read image $TMP/nofirmware/.*: set ESPDECK_FIRMWARE to the folder holding the firmware images (Hello-world/<CHIP>/ in it)$" "$TMP/err"; then
    ok "cli sentence check: missing image of a shipped profile names ESPDECK_FIRMWARE"
else
    notok "cli sentence check: missing image of a shipped profile names ESPDECK_FIRMWARE: rc $rc: $(head -3 "$TMP/err")"
fi

# Ctrl-C during a paced batch flash: exit 6, the sentence says what to do.
timeout 60 "$ESPDECK" flash tests/fixtures/profiles/sim-board.yaml --port sim:esp32 --batch \
    >"$TMP/out" 2>"$TMP/err" &
pid=$!
i=0
while ! grep -q '^Connected to target' "$TMP/out" && [ $i -lt 100 ]; do
    sleep 0.05; i=$((i + 1))
done
kill -INT $pid
wait $pid
rc=$?
if [ $rc -eq 6 ] && tail -1 "$TMP/err" | grep -qE \
    '^espdeck: cancel.*(run the same command again to finish|until it is flashed again)$'; then
    ok "cli sentence cancelled batch flash says how to finish"
else
    notok "cli sentence cancelled batch flash says how to finish: rc $rc: $(cat "$TMP/err")"
fi
exit 0
