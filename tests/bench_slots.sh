#!/bin/bash
# make bench, many boards: one `espdeck bench` round of N slots (default 8)
# flashing the bench set at the bench baud into N paced simulators, each a
# separate `espdeck sim` process (so the simulators do not share espdeck's
# CPU), against the same round with one slot.  Reports the N-slot round's
# wall time over the 1-slot round's (goal <= 1.25), espdeck's CPU per
# board while flashing ((user + sys) / N / wall, goal <= 5 % of one core)
# and its peak RSS with N slots (goal <= 16 MiB).  Only reports.
#
# Uses the profile tests/bench.sh wrote ($BUILD/bench/bench.yaml); run
# after it (make bench runs both).  Environment: BENCH_SLOTS (8),
# BENCH_CHIP (esp32c3), BUILD, ESPDECK.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
ESPDECK=${ESPDECK:-$PWD/$BUILD/espdeck}
source tests/lib.sh
source tests/interop/lib.sh

N=${BENCH_SLOTS:-8}
CHIP=${BENCH_CHIP:-esp32c3}
OUT=$PWD/$BUILD/bench
fail() { echo "bench slots: $*" >&2; exit 1; }
[ -f "$OUT/bench.yaml" ] || fail "no $OUT/bench.yaml: run tests/bench.sh first"
/usr/bin/time -v true > /dev/null 2>&1 || fail "GNU time is needed (apt-get install time)"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# The bench set as a bench: the key trigger (headless, each slot starts at
# once), verdict from flashing alone.
{ cat "$OUT/bench.yaml"; echo "bench: {trigger: key}"; } > "$OUT/slots.yaml"

# round K: K blank paced simulators, one bench round of K units; sets
# WALL (ms), CPU (s), RSS (KiB).
round() {
    local k=$1 i p args=() pids=() t0 t1
    for i in $(seq 1 "$k"); do
        rm -f "$OUT/slot$i.bin"
        p=$(free_port)
        iop_sim_start "$CHIP" "$p" "$OUT/slot$i.log" --flash-size 4MB \
            --flash-file "$OUT/slot$i.bin" \
            --mac "24:0a:c4:77:00:$(printf %02x "$i")" || fail "$IOP_WHY"
        pids+=("$IOP_SIM_PID")
        args+=(--slot "socket://127.0.0.1:$p")
    done
    rm -f "$OUT/slots-$k.jsonl"
    t0=$(now_ms)
    /usr/bin/time -v -o "$OUT/slots-time.txt" "$ESPDECK" bench \
        "$OUT/slots.yaml" "${args[@]}" --batch --units "$k" \
        --records "$OUT/slots-$k.jsonl" > "$OUT/slots-$k.log" 2>&1 ||
        { tail -20 "$OUT/slots-$k.log" >&2; fail "the $k-slot round failed"; }
    t1=$(now_ms)
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    WALL=$((t1 - t0))
    CPU=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u + s}' "$OUT/slots-time.txt")
    RSS=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/slots-time.txt")
    PASS=$(grep -c '"verdict":"PASS"' "$OUT/slots-$k.jsonl")
}

echo
echo "many boards: $N slots of espdeck bench, each its own paced espdeck sim ($CHIP)"
round 1
w1=$WALL; c1=$CPU; r1=$RSS; p1=$PASS
round "$N"
wn=$WALL; cn=$CPU; rn=$RSS; pn=$PASS
awk -v n="$N" -v w1="$w1" -v c1="$c1" -v r1="$r1" -v p1="$p1" \
    -v wn="$wn" -v cn="$cn" -v rn="$rn" -v pn="$pn" 'BEGIN {
    printf "  1 slot:   %6.2f s wall, %5.2f s CPU, peak RSS %5.1f MiB, %d PASS\n", w1 / 1000, c1, r1 / 1024, p1
    printf "  %d slots: %6.2f s wall, %5.2f s CPU, peak RSS %5.1f MiB, %d PASS\n", n, wn / 1000, cn, rn / 1024, pn
    printf "  round of %d / round of 1 = %.2f (goal <= 1.25)\n", n, wn / w1
    printf "  espdeck CPU per board while flashing = %.1f %% of a core (goal <= 5 %%)\n", 100 * cn / n / (wn / 1000)
    printf "  peak RSS with %d slots = %.1f MiB (goal <= 16 MiB)\n", n, rn / 1024
}'
