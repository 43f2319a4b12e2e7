#!/bin/sh
# make bench: espdeck against esptool-js 0.7.0 on the paced simulator.
#
# A full flash (bootloader, partition table, a generated 1.5 MiB app that
# deflates like real firmware) at 921600 baud into `espdeck sim` without
# --no-pacing, then a reflash of the same set, several runs of each tool;
# prints medians, the ratio, the wire floor and espdeck's peak RSS.  It only
# reports: nothing here passes or fails on speed.
#
# Environment: BENCH_RUNS (default 5), BENCH_CHIP (default esp32c3),
# BENCH_BAUD (default 921600), BUILD, ESPDECK, ESPDECK_SHARED.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
ESPDECK=${ESPDECK:-$PWD/$BUILD/espdeck}
ESPDECK_SHARED=${ESPDECK_SHARED:-$(cd .. && pwd)/shared}
export BUILD ESPDECK ESPDECK_SHARED
source tests/lib.sh
source tests/interop/lib.sh

RUNS=${BENCH_RUNS:-5}
CHIP=${BENCH_CHIP:-esp32c3}
BAUD=${BENCH_BAUD:-921600}
OUT=$PWD/$BUILD/bench
mkdir -p "$OUT"

fail() { echo "bench: $*" >&2; exit 1; }

iop_npm || fail "$IOP_WHY"
for c in sim flash; do iop_has $c || fail "$IOP_WHY"; done
fwdir=$(iop_fwdir "$CHIP")
[ -f "$fwdir/bootloader.bin" ] || fail "no hello-world set in $fwdir"
boot_off=$(iop_boot_offset "$CHIP")

gen=$(node tests/interop/benchgen.mjs "$fwdir" "$OUT") ||
    fail "generating the flash set failed"
cp "$fwdir/bootloader.bin" "$OUT/bootloader.bin"
field() { node -p "JSON.parse(process.argv[1]).$2" "$1"; }
app_bytes=$(field "$gen" app_bytes)
app_ratio=$(field "$gen" app_ratio)
set_bytes=$(field "$gen" set_bytes)
set_defl=$(field "$gen" set_deflated)

# The profile espdeck flashes: the same three images at the same offsets,
# the table given as a binary, flash parameters kept as in the images.
cat > "$OUT/bench.yaml" <<EOF
name: bench-$CHIP
chip: $CHIP
baud: $BAUD
reset: {before: no-reset, after: no-reset}
flash: {mode: keep, freq: keep, size: keep}
partition_table:
  offset: 0x8000
  file: $OUT/partition-table.bin
images:
  - {name: bootloader, offset: $boot_off, file: $OUT/bootloader.bin}
  - {partition: factory, file: $OUT/app.bin}
EOF
if ! "$ESPDECK" check "$OUT/bench.yaml" > "$OUT/check.log" 2>&1; then
    cat "$OUT/check.log" >&2
    fail "espdeck does not accept the bench profile $OUT/bench.yaml"
fi

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# sim_up FLASHFILE: a paced simulator on a fresh port.
sim_up() {
    port=$(free_port)
    iop_sim_start "$CHIP" "$port" "$OUT/sim.log" --flash-size 4MB \
        --flash-file "$1" || fail "$IOP_WHY"
}

TIME_V=""
if /usr/bin/time -v true > /dev/null 2>&1; then TIME_V="/usr/bin/time -v"; fi
# timed CMD...: run CMD, under GNU time when there is one (to $OUT/time.txt).
timed() {
    if [ -n "$TIME_V" ]; then
        /usr/bin/time -v -o "$OUT/time.txt" "$@"
    else
        "$@"
    fi
}

# run_espdeck TAG: one espdeck flash; appends ms to $OUT/TAG.espdeck.
run_espdeck() {
    local t0 t1
    t0=$(now_ms)
    if ! timed "$ESPDECK" flash "$OUT/bench.yaml" \
        --port "socket://127.0.0.1:$port" --batch \
        > "$OUT/espdeck.log" 2>&1; then
        tail -20 "$OUT/espdeck.log" >&2
        fail "espdeck flash failed ($1)"
    fi
    t1=$(now_ms)
    echo $((t1 - t0)) >> "$OUT/$1.espdeck"
    if [ -n "$TIME_V" ]; then
        awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/time.txt" \
            >> "$OUT/rss.espdeck"
    fi
}

# run_js TAG: one esptool-js writeFlash; appends wall ms and in-process ms.
run_js() {
    local t0 t1
    t0=$(now_ms)
    if ! iop_js "$OUT/js.out" --port "127.0.0.1:$port" --baud "$BAUD" \
        write "$boot_off=$OUT/bootloader.bin" \
        "0x8000=$OUT/partition-table.bin" "0x10000=$OUT/app.bin"; then
        tail -20 "$OUT/js.out.log" >&2
        fail "esptool-js failed ($1): $(iop_error "$OUT/js.out")"
    fi
    t1=$(now_ms)
    echo $((t1 - t0)) >> "$OUT/$1.js"
    iop_field "$OUT/js.out" total_ms >> "$OUT/$1.jsin"
}

rm -f "$OUT"/*.espdeck "$OUT"/*.js "$OUT"/*.jsin
echo "bench: $CHIP, $RUNS runs per case, $BAUD baud, paced simulator"
for r in $(seq 1 "$RUNS"); do
    for tool in espdeck js; do
        ff=$OUT/flash-$tool.bin
        rm -f "$ff"
        sim_up "$ff"
        if [ $tool = espdeck ]; then run_espdeck fresh; else run_js fresh; fi
        iop_sim_stop
        sim_up "$ff"
        if [ $tool = espdeck ]; then run_espdeck reflash; else run_js reflash; fi
        iop_sim_stop
    done
    printf '  run %d: espdeck %s / %s ms, esptool-js %s / %s ms (fresh / reflash)\n' \
        "$r" "$(tail -1 "$OUT/fresh.espdeck")" "$(tail -1 "$OUT/reflash.espdeck")" \
        "$(tail -1 "$OUT/fresh.js")" "$(tail -1 "$OUT/reflash.js")"
done
# The flashes of both tools must have left the same bytes.
cmp -s "$OUT/flash-espdeck.bin" "$OUT/flash-js.bin" ||
    echo "bench: note: the two tools' flash files differ" >&2

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
minmax() { sort -n "$1" | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.2f-%.2f", lo/1000, hi/1000}'; }
sec() { awk -v m="$1" 'BEGIN {printf "%.2f", m / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

floor_ms=$(awk -v b="$set_defl" -v baud="$BAUD" 'BEGIN {printf "%d", b * 10 * 1000 / baud}')
fe=$(median "$OUT/fresh.espdeck"); fj=$(median "$OUT/fresh.js")
fji=$(median "$OUT/fresh.jsin")
re=$(median "$OUT/reflash.espdeck"); rj=$(median "$OUT/reflash.js")
rji=$(median "$OUT/reflash.jsin")
rss="n/a"
[ -s "$OUT/rss.espdeck" ] && rss="$(sort -n "$OUT/rss.espdeck" | tail -1) KiB"

echo
echo "flash set: bootloader @$boot_off + partition table @0x8000 + app @0x10000"
echo "  app $app_bytes B, zlib-9 ratio $app_ratio; set $set_bytes B -> $set_defl B deflated"
echo "  wire floor: $set_defl B x 10 bits / $BAUD baud = $(sec "$floor_ms") s"
echo
printf '%-22s %10s %14s %10s %14s\n' "" "full (s)" "min-max" "reflash (s)" "min-max"
printf '%-22s %10s %14s %10s %14s\n' "wire floor" "$(sec "$floor_ms")" "" "-" ""
printf '%-22s %10s %14s %10s %14s\n' "espdeck" "$(sec "$fe")" \
    "$(minmax "$OUT/fresh.espdeck")" "$(sec "$re")" "$(minmax "$OUT/reflash.espdeck")"
printf '%-22s %10s %14s %10s %14s\n' "esptool-js (process)" "$(sec "$fj")" \
    "$(minmax "$OUT/fresh.js")" "$(sec "$rj")" "$(minmax "$OUT/reflash.js")"
printf '%-22s %10s %14s %10s %14s\n' "esptool-js (in-proc)" "$(sec "$fji")" \
    "$(minmax "$OUT/fresh.jsin")" "$(sec "$rji")" "$(minmax "$OUT/reflash.jsin")"
printf '%-22s %10s %14s %10s %14s\n' "esptool-js / espdeck" "$(ratio "$fj" "$fe")" "" \
    "$(ratio "$rj" "$re")" ""
printf '%-22s %10s\n' "espdeck / floor" "$(ratio "$fe" "$floor_ms")"
echo
echo "espdeck peak RSS: $rss (max over all runs, ${TIME_V:-GNU time not found})"
echo "medians of $RUNS runs; 'process' is wall time of the whole command,"
echo "'in-proc' is esptool-js's own connect+write+verify (without Node start)."
