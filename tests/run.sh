#!/bin/sh
# Run every test: the unit-test binary, then each tests/sh/*.sh script.
# Every test prints TAP-like lines ("ok - NAME", "not ok - NAME",
# "skip - NAME: why"); this script counts them and ends with
# "N passed, N failed".
#
# ONLY=pattern runs the scripts whose file name contains pattern.
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
ESPDECK=${ESPDECK:-$PWD/$BUILD/espdeck}
export BUILD
ESPDECK_SHARED=${ESPDECK_SHARED:-$(cd .. && pwd)/shared}
export ESPDECK ESPDECK_SHARED
log=$BUILD/test-log
# Tests never read or write the user's own state (remembered links, records,
# per-user defaults): each run gets fresh XDG folders of its own.
XDG_HOME_ROOT=$PWD/$BUILD/test-home
rm -rf "$XDG_HOME_ROOT"
mkdir -p "$XDG_HOME_ROOT/config" "$XDG_HOME_ROOT/data" "$XDG_HOME_ROOT/state" "$XDG_HOME_ROOT/cache"
XDG_CONFIG_HOME=$XDG_HOME_ROOT/config XDG_DATA_HOME=$XDG_HOME_ROOT/data
XDG_STATE_HOME=$XDG_HOME_ROOT/state XDG_CACHE_HOME=$XDG_HOME_ROOT/cache
export XDG_CONFIG_HOME XDG_DATA_HOME XDG_STATE_HOME XDG_CACHE_HOME
mkdir -p "$log"
results=$BUILD/test-results.txt
: > "$results"

if [ -z "$ONLY" ]; then
    echo "== unit tests"
    ./$BUILD/unit-tests 2> "$log/unit.err" | tee -a "$results"
    [ -s "$log/unit.err" ] && grep -v '^unit:' "$log/unit.err" | head -100
fi
for t in tests/sh/*.sh; do
    [ -e "$t" ] || continue
    case "$t" in *"$ONLY"*) ;; *) continue ;; esac
    name=$(basename "$t" .sh)
    echo "== $name"
    out="$log/$name.out"
    if ! bash "$t" > "$out" 2> "$log/$name.err"; then
        grep -q '^not ok' "$out" || echo "not ok - $name: script exited non-zero" >> "$out"
    fi
    grep -E '^(ok|not ok|skip) ' "$out" | tee -a "$results"
    if grep -q '^not ok' "$out"; then
        echo "  --- $name stderr (last 40 lines):"
        tail -40 "$log/$name.err" | sed 's/^/  | /'
    fi
done
pass=$(grep -c '^ok ' "$results")
fail=$(grep -c '^not ok ' "$results")
skip=$(grep -c '^skip ' "$results")
[ "$skip" -gt 0 ] && echo "($skip skipped)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
