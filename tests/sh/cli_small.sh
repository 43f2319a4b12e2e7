#!/bin/bash
# The smaller command-line promises (issue 10): -p wherever --port is,
# binary units, `espdeck PROFILE` without a terminal flashes like
# `espdeck flash PROFILE`, read-flash FILE problems as true sentences with
# one exit code (7).
source tests/lib.sh
export ESPDECK_FIRMWARE=$(cd "$FW" 2>/dev/null && pwd)
SIM='sim:esp32?pacing=0'

# -p everywhere --port is
out=$(timeout 60 "$ESPDECK" info -p "$SIM" 2>&1); rc=$?
check "cli -p: info takes -p" test $rc -eq 0 -a -n "$(echo "$out" | grep '^Chip:')"
# Without a terminal the monitor forwards stdin and prints the target's
# output until it is stopped: -p must reach the board.
out=$(timeout 3 "$ESPDECK" monitor -p "$SIM" </dev/null 2>&1); rc=$?
if ! echo "$out" | grep -q "unknown" && echo "$out" | grep -q "^ets "; then
    ok "cli -p: monitor takes -p"
else
    notok "cli -p: monitor takes -p: rc $rc: $out"
fi

# binary units: KiB/MiB, never KB/MB
if echo "$(timeout 60 "$ESPDECK" info -p "$SIM" 2>&1)" | grep -q '^Flash size:  4 MiB$'; then
    ok "cli units: info says MiB"
else
    notok "cli units: info says MiB"
fi
if [ -n "$ESPDECK_FIRMWARE" ]; then
    out=$("$ESPDECK" check tests/fixtures/profiles/sim-board.yaml 2>&1)
    if echo "$out" | grep -q 'KiB to write$' && ! echo "$out" | grep -q ' KB'; then
        ok "cli units: check says KiB"
    else
        notok "cli units: check says KiB: $out"
    fi
    # `espdeck PROFILE | cat`: batch output, as `espdeck flash PROFILE | cat`
    timeout 60 "$ESPDECK" tests/fixtures/profiles/sim-board.yaml -p "$SIM" </dev/null 2>"$TMP/err" | cat > "$TMP/out"
    rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 0 ] && grep -q '^Done!$' "$TMP/out"; then
        ok "cli PROFILE without a terminal flashes in batch mode"
    else
        notok "cli PROFILE without a terminal flashes in batch mode: rc $rc: $(cat "$TMP/err")"
    fi
else
    skip "cli units: check says KiB: no shared firmware"
    skip "cli PROFILE without a terminal flashes in batch mode: no shared firmware"
fi

# read-flash FILE: one true sentence, exit 7, the named file left alone
rf() { # NAME FILE PATTERN
    timeout 60 "$ESPDECK" read-flash -p "$SIM" 0 4K "$2" >/dev/null 2>"$TMP/err"
    local rc=$?
    if [ $rc -eq 7 ] && [ "$(grep -c . "$TMP/err")" -le 2 ] && tail -1 "$TMP/err" | grep -qE -- "$3"; then
        ok "cli read-flash $1"
    else
        notok "cli read-flash $1: rc $rc: $(cat "$TMP/err")"
    fi
}
mkdir -p "$TMP/d"
rf "into a folder" "$TMP/d" "^espdeck: cannot write $TMP/d: it is a folder: give a file name, such as $TMP/d/flash.bin$"
rf "into a missing folder" "$TMP/no/x.bin" "^espdeck: cannot write $TMP/no/x.bin: the folder $TMP/no does not exist"
if [ -w /proc/version ] || [ "$(id -u)" = 0 ]; then
    rf "into /proc/version" /proc/version "^espdeck: writing /proc/version failed: .*: it does not take the data; read into a regular file$"
fi
if [ -c /dev/full ]; then
    rf "into a full disk" /dev/full "free some space there"
    check "cli read-flash leaves /dev/full in place" test -c /dev/full
fi
exit 0
