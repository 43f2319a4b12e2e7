#!/bin/sh
# make bench: espdeck against esptool-js 0.7.0 on the paced simulator.
#
# Cases (one row each, both tools in the same run, medians of BENCH_RUNS):
#   p1       full flash at BENCH_BAUD onto erased flash: bootloader,
#            partition table, a generated 1.5 MiB app that deflates like
#            real firmware
#   p2       small-change reflash: onto what p1 left, the next build of the
#            app (benchgen.mjs app2.bin: 13 scattered edits, 14 of its 384
#            sectors differ)
#   reflash  the p1 set again onto what p1 left (nothing changed)
# then the goal ratios (P1 against esptool-js and the zlib-9 wire floor, P2
# against P1) and espdeck's peak RSS.  It only reports: nothing here passes
# or fails on speed.
#
# Adding a case: write case_NAME() setting the variables listed above
# run_case(), add NAME to BENCH_CASES' default, and, if it has a goal, a
# line in the summary at the end.
#
# Environment: BENCH_RUNS (default 5), BENCH_CHIP (default esp32c3),
# BENCH_BAUD (default 921600), BENCH_CASES (default "p1 p1auto p2 reflash"; a case
# starting from another's flash needs that one listed before it),
# BENCH_P2_EDITS (default 13: scattered edits in P2's next build), BUILD,
# ESPDECK, ESPDECK_SHARED.
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
CASES=${BENCH_CASES:-p1 p1auto p2 reflash}
OUT=$PWD/$BUILD/bench
mkdir -p "$OUT"
# espdeck's state (links.json) and config in the bench's own folders, as
# tests/run.sh gives the tests theirs: the user's links.json, which grows
# by a socket:// port per run, was read and written again while connecting
rm -rf "$OUT/home"
for d in config data state cache; do mkdir -p "$OUT/home/$d"; done
export XDG_CONFIG_HOME=$OUT/home/config XDG_DATA_HOME=$OUT/home/data \
    XDG_STATE_HOME=$OUT/home/state XDG_CACHE_HOME=$OUT/home/cache

fail() { echo "bench: $*" >&2; exit 1; }

iop_npm || fail "$IOP_WHY"
for c in sim flash; do iop_has $c || fail "$IOP_WHY"; done
fwdir=$(iop_fwdir "$CHIP")
[ -f "$fwdir/bootloader.bin" ] || fail "no hello-world set in $fwdir"
boot_off=$(iop_boot_offset "$CHIP")

gen=$(node tests/interop/benchgen.mjs "$fwdir" "$OUT" "" "" \
    "${BENCH_P2_EDITS:-13}") ||
    fail "generating the flash set failed"
cp "$fwdir/bootloader.bin" "$OUT/bootloader.bin"
field() { node -p "JSON.parse(process.argv[1]).$2" "$1"; }
app_bytes=$(field "$gen" app_bytes)
app_ratio=$(field "$gen" app_ratio)
set_bytes=$(field "$gen" set_bytes)
set_defl=$(field "$gen" set_deflated)
app_sectors=$(field "$gen" app_sectors)
app2_changed=$(field "$gen" app2_changed_sectors)

# The profiles espdeck flashes: the same three images at the same offsets,
# the table given as a binary, flash parameters kept as in the images;
# bench.yaml with app.bin, bench2.yaml with the next build app2.bin.
for v in "" 2; do
    cat > "$OUT/bench$v.yaml" <<EOF
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
  - {partition: factory, file: $OUT/app$v.bin}
EOF
    if ! "$ESPDECK" check "$OUT/bench$v.yaml" > "$OUT/check.log" 2>&1; then
        cat "$OUT/check.log" >&2
        fail "espdeck does not accept the bench profile $OUT/bench$v.yaml"
    fi
done

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

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

# ---- the cases ----
# case_NAME sets:
#   LABEL     the row's name
#   FROM      "fresh" (erased flash) or the case whose flash it starts from
#             (each tool goes on from its own flash of that case)
#   SIM_ARGS  extra `espdeck sim` options (an array)
#   DECK      `espdeck flash` arguments before --port (an array)
#   JS        esptool.mjs arguments after --port/--baud (an array; empty:
#             esptool-js does not run this case)
#   JS_BAUD   esptool-js's baud (preset to BENCH_BAUD)
#   DECK_SCHEME  the simulator's transport for espdeck (preset to socket;
#             esptool-js always uses socket)
set1=("$boot_off=$OUT/bootloader.bin" "0x8000=$OUT/partition-table.bin"
      "0x10000=$OUT/app.bin")
set2=("$boot_off=$OUT/bootloader.bin" "0x8000=$OUT/partition-table.bin"
      "0x10000=$OUT/app2.bin")
case_p1() {
    LABEL="P1 full flash"; FROM=fresh; SIM_ARGS=()
    DECK=("$OUT/bench.yaml"); JS=(write "${set1[@]}")
}
# P1-auto: espdeck --baud auto through a simulated CP2102N (3 Mbaud) on
# RFC 2217 (a socket:// link has no reset lines, so auto stays at 921600
# there), against esptool-js at BENCH_BAUD through the same adapter.
case_p1auto() {
    LABEL="P1-auto (CP2102N)"; FROM=fresh; SIM_ARGS=(--adapter cp2102n)
    DECK=("$OUT/bench.yaml" --baud auto --before default-reset)
    DECK_SCHEME=rfc2217; JS=(write "${set1[@]}")
}
case_p2() {
    LABEL="P2 small change"; FROM=p1; SIM_ARGS=()
    DECK=("$OUT/bench2.yaml"); JS=(write "${set2[@]}")
}
case_reflash() {
    LABEL="reflash, unchanged"; FROM=p1; SIM_ARGS=()
    DECK=("$OUT/bench.yaml"); JS=(write "${set1[@]}")
}

# connect_time TRACE: ms from the connection to the first data block on
# the wire (the first FLASH_DEFL_BEGIN / FLASH_BEGIN the board acted on;
# its data block follows at once), from the simulator's trace.
connect_time() {
    awk '$2 == "RX" && ($5 == "10" || $5 == "02") {
        printf "%d\n", $1 * 1000; exit }' "$1"
}

# run_case NAME TOOL: one measurement of TOOL (espdeck or js); appends the
# wall ms to $OUT/NAME.TOOL (esptool-js's own ms to $OUT/NAME.jsin) and
# leaves the flash in $OUT/after-NAME-TOOL.bin.
run_case() {
    local name=$1 tool=$2 ff=$OUT/flash-$2.bin t0 t1 scheme=socket
    local trace=()
    JS_BAUD=$BAUD; DECK_SCHEME=socket
    "case_$name"
    if [ "$tool" = espdeck ]; then
        scheme=$DECK_SCHEME
        # the wire times of the connect steps (connect_time below)
        trace=(--trace "$OUT/trace-$name.txt")
        rm -f "$OUT/trace-$name.txt"
    fi
    [ "$tool" = js ] && [ ${#JS[@]} -eq 0 ] && return 0
    rm -f "$ff"
    if [ "$FROM" != fresh ]; then
        cp "$OUT/after-$FROM-$tool.bin" "$ff" ||
            fail "case $name starts from $FROM's flash: list $FROM before it"
    fi
    port=$(free_port)
    IOP_SCHEME=$scheme iop_sim_start "$CHIP" "$port" "$OUT/sim.log" \
        --flash-size 4MB --flash-file "$ff" "${SIM_ARGS[@]}" "${trace[@]}" ||
        fail "$IOP_WHY"
    t0=$(now_ms)
    if [ "$tool" = espdeck ]; then
        if ! timed "$ESPDECK" flash "${DECK[@]}" \
            --port "$scheme://127.0.0.1:$port" --batch \
            > "$OUT/espdeck.log" 2>&1; then
            tail -20 "$OUT/espdeck.log" >&2
            fail "espdeck flash failed ($name)"
        fi
        t1=$(now_ms)
        if [ -n "$TIME_V" ]; then
            awk -F': ' '/Maximum resident set size/ {print $2}' \
                "$OUT/time.txt" >> "$OUT/rss.espdeck"
        fi
    else
        if ! iop_js "$OUT/js.out" --port "127.0.0.1:$port" \
            --baud "$JS_BAUD" "${JS[@]}"; then
            tail -20 "$OUT/js.out.log" >&2
            fail "esptool-js failed ($name): $(iop_error "$OUT/js.out")"
        fi
        t1=$(now_ms)
        iop_field "$OUT/js.out" total_ms >> "$OUT/$name.jsin"
    fi
    echo $((t1 - t0)) >> "$OUT/$name.$tool"
    iop_sim_stop
    [ "$tool" = espdeck ] && connect_time "$OUT/trace-$name.txt" \
        >> "$OUT/$name.connect"
    cp "$ff" "$OUT/after-$name-$tool.bin"
}

rm -f "$OUT"/*.espdeck "$OUT"/*.js "$OUT"/*.jsin "$OUT"/*.connect \
    "$OUT"/after-*.bin
echo "bench: $CHIP, $RUNS runs per case, $BAUD baud, paced simulator;" \
    "cases: $CASES"
for r in $(seq 1 "$RUNS"); do
    line="  run $r:"
    for c in $CASES; do
        for tool in espdeck js; do run_case "$c" "$tool"; done
        line="$line $c $(tail -1 "$OUT/$c.espdeck" 2>/dev/null)"
        line="$line/$(tail -1 "$OUT/$c.js" 2>/dev/null) ms"
    done
    echo "$line (espdeck/esptool-js)"
done
# Both tools must have left the same bytes.
for c in $CASES; do
    [ -f "$OUT/after-$c-js.bin" ] || continue
    cmp -s "$OUT/after-$c-espdeck.bin" "$OUT/after-$c-js.bin" ||
        echo "bench: note: after $c the two tools' flash files differ" >&2
done

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
minmax() { sort -n "$1" | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.2f-%.2f", lo/1000, hi/1000}'; }
sec() { awk -v m="$1" 'BEGIN {printf "%.2f", m / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
med() { if [ -s "$OUT/$1" ]; then median "$OUT/$1"; fi; }
# cell FILE: "median min-max" of a result file, or "- -"
cell() {
    local m
    m=$(med "$1")
    if [ -n "$m" ]; then echo "$(sec "$m") $(minmax "$OUT/$1")"; else echo "- -"; fi
}

floor_ms=$(awk -v b="$set_defl" -v baud="$BAUD" 'BEGIN {printf "%d", b * 10 * 1000 / baud}')
rss="n/a"
[ -s "$OUT/rss.espdeck" ] && rss="$(sort -n "$OUT/rss.espdeck" | tail -1) KiB"

echo
echo "flash set: bootloader @$boot_off + partition table @0x8000 + app @0x10000"
echo "  app $app_bytes B, zlib-9 ratio $app_ratio; set $set_bytes B -> $set_defl B deflated"
echo "  next build (P2): $app2_changed of the app's $app_sectors sectors differ"
echo "  wire floor: $set_defl B x 10 bits / $BAUD baud = $(sec "$floor_ms") s"
echo
fmt='%-20s %8s %12s %10s %12s %10s %8s\n'
printf "$fmt" "(seconds)" "espdeck" "min-max" "esptool-js" "min-max" \
    "js in-proc" "js/deck"
for c in $CASES; do
    "case_$c"
    e=$(med "$c.espdeck"); j=$(med "$c.js"); ji=$(med "$c.jsin")
    rj="-"
    [ -n "$e" ] && [ -n "$j" ] && rj=$(ratio "$j" "$e")
    # shellcheck disable=SC2046 # cell prints two words on purpose
    printf "$fmt" "$LABEL" $(cell "$c.espdeck") $(cell "$c.js") \
        "${ji:+$(sec "$ji")}" "$rj"
done
printf "$fmt" "wire floor (zlib 9)" "$(sec "$floor_ms")" "" "" "" "" ""
echo
p1=$(med p1.espdeck); p1j=$(med p1.js); p2=$(med p2.espdeck); p2j=$(med p2.js)
if [ -n "$p1" ] && [ -n "$p1j" ]; then
    echo "P1: espdeck / esptool-js = $(ratio "$p1" "$p1j") (goal <= 0.80);" \
        "espdeck / wire floor = $(ratio "$p1" "$floor_ms") (goal <= 1.10)"
fi
if [ -n "$p1" ] && [ -n "$p2" ]; then
    p2js="-"
    [ -n "$p2j" ] && [ -n "$p1j" ] && p2js=$(ratio "$p2j" "$p1j")
    echo "P2: reflash / full flash = $(ratio "$p2" "$p1") (goal <= 0.15," \
        "aim 0.10); esptool-js: $p2js"
fi
pa=$(med p1auto.espdeck); paj=$(med p1auto.js)
if [ -n "$pa" ] && [ -n "$paj" ]; then
    echo "P1-auto: espdeck --baud auto (CP2102N) / esptool-js at $BAUD" \
        "= $(ratio "$pa" "$paj")"
fi
for c in p1 p1auto; do
    ct=$(med "$c.connect")
    [ -n "$ct" ] && echo "connect to the first data block ($c, espdeck):" \
        "$(sec "$ct") s (goal <= 0.60 at 921600)"
done
echo "espdeck peak RSS: $rss (max over all runs, ${TIME_V:-GNU time not found})"
echo "medians of $RUNS runs: wall time of the whole command; 'js in-proc'"
echo "is esptool-js's own connect+write+verify (without Node's start)."

# Many boards: N slots of `espdeck bench` into N paced simulators
# (tests/bench_slots.sh; its own report).
bash tests/bench_slots.sh || echo "bench: the many-boards section failed" >&2
