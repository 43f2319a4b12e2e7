#!/bin/bash
# Every fuzz harness (tests/fuzz/fuzz_*.c) replays its committed corpus
# (tests/fuzz/corpus/NAME/) with the build's own compiler and sanitizers:
# a crash, a sanitizer report or a broken invariant fails the harness.
source tests/lib.sh
REPLAY=$(dirname "$ESPDECK")/fuzz-replay
if [ ! -x "$REPLAY" ]; then
    notok "fuzz_replay: $REPLAY is not built (make $REPLAY)"
    exit 1
fi
for name in $("$REPLAY" --list); do
    files=(tests/fuzz/corpus/"$name"/*)
    if [ ! -e "${files[0]}" ]; then
        notok "fuzz_replay: $name has no corpus in tests/fuzz/corpus/$name"
        continue
    fi
    if "$REPLAY" "$name" "${files[@]}" >"$TMP/$name.out" 2>"$TMP/$name.err"; then
        ok "fuzz_replay: $name (${#files[@]} inputs)"
    else
        notok "fuzz_replay: $name: $(grep -v "^$name " "$TMP/$name.err" | head -3 | tr '\n' ' ') (last input: $(grep "^$name " "$TMP/$name.err" | tail -1))"
    fi
done
