#!/bin/sh
# tests/fuzz/run.sh BUILD SECONDS JOBS NAME... - run each libFuzzer harness
# (BUILD/fuzz-NAME, made by make fuzz) for SECONDS, JOBS at a time, from
# the committed seeds (tests/fuzz/corpus/NAME) plus what earlier runs found
# (BUILD/corpus/NAME, where new inputs go); findings land in
# BUILD/artifacts.  Prints one line per harness and a summary table.
B=$1 SECS=$2 JOBS=$3
shift 3
mkdir -p "$B/artifacts" "$B/logs"
run_one() {
    n=$1
    mkdir -p "$B/corpus/$n"
    "$B/fuzz-$n" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$B/artifacts/$n-" \
        "$B/corpus/$n" "tests/fuzz/corpus/$n" >"$B/logs/$n.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/logs/$n.log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$B/logs/$n.log" | tail -1 | sed 's/cov: //')
    found=$(ls "$B/artifacts" | grep -c "^$n-")
    echo "$n: ${execs:-?} executions, coverage ${cov:-?} edges, exit $rc, findings $found"
}
i=0
for n in "$@"; do
    run_one "$n" > "$B/logs/$n.line" &
    i=$((i + 1))
    if [ "$i" -ge "$JOBS" ]; then wait; i=0; fi
done
wait
echo "| harness | executions | coverage (edges) | findings |"
echo "|---|---:|---:|---:|"
bad=0
for n in "$@"; do
    cat "$B/logs/$n.line" >&2
    sed -n 's/^\([a-z_0-9]*\): \([0-9?]*\) executions, coverage \([0-9?]*\) edges, exit \([0-9]*\), findings \([0-9]*\)$/| \1 | \2 | \3 | \5 |/p' "$B/logs/$n.line"
    grep -q 'findings 0$' "$B/logs/$n.line" || bad=1
done
[ $bad = 0 ] || echo "fuzz: findings in $B/artifacts (replay: $B/fuzz-NAME FILE)" >&2
exit $bad
