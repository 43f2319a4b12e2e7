#!/bin/bash
# The soak subset (about 50 faulted flashes through the simulator's fault
# injection, tests/soak/soak.py --subset): whatever the line does, no
# silent corruption, no hang, no crash, and every failure is one clean
# sentence.  `make soak` runs the full set (1,000+ runs) and writes
# docs/reliability.md.
source tests/lib.sh
if ! command -v python3 >/dev/null 2>&1; then
    skip "soak: python3 is absent"
    exit 0
fi
python3 tests/soak/soak.py --subset --espdeck "$ESPDECK" --jobs 2 \
    2>"$TMP/soak.err"
rc=$?
# the table goes to stderr (the test log keeps it)
cat "$TMP/soak.err" >&2
exit $rc
