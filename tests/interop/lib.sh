# Helpers for the esptool-js interop tests and the benchmark (sourced after
# tests/lib.sh, from the repository root).
#
# esptool-js is installed with `npm ci` from this folder's package files into
# $BUILD/npm-interop (never into the repository).  IOP_WHY holds the reason
# when a helper returns non-zero.

IOP_DIR=tests/interop
IOP_BUILD=$PWD/${BUILD:-build}
ESPTOOL_JS_DIR=$IOP_BUILD/npm-interop
export ESPTOOL_JS_DIR
IOP_WHY=""
IOP_CHIPS="esp32 esp32s2 esp32s3 esp32c2 esp32c3 esp32c6 esp32h2 esp32c5 esp32p4"

# iop_npm: make esptool-js 0.7.0 available (once per build dir and lockfile).
iop_npm() {
    if ! command -v node >/dev/null 2>&1; then
        IOP_WHY="node is not installed (Debian package nodejs)"; return 1
    fi
    if ! command -v npm >/dev/null 2>&1; then
        IOP_WHY="npm is not installed (Debian package npm)"; return 1
    fi
    local d=$ESPTOOL_JS_DIR
    if [ -f "$d/node_modules/esptool-js/package.json" ] &&
       cmp -s "$IOP_DIR/package-lock.json" "$d/package-lock.json"; then
        return 0
    fi
    mkdir -p "$d" || { IOP_WHY="cannot create $d"; return 1; }
    cp "$IOP_DIR/package.json" "$IOP_DIR/package-lock.json" "$d/"
    # Several scripts may start at once: one installs, the others wait.
    (
        flock 9
        [ -f "$d/node_modules/esptool-js/package.json" ] && exit 0
        npm ci --prefix "$d" --no-audit --no-fund --loglevel=error \
            > "$d/npm-ci.log" 2>&1
    ) 9> "$d/.lock"
    if [ ! -f "$d/node_modules/esptool-js/package.json" ]; then
        IOP_WHY="npm ci of esptool-js failed (see $d/npm-ci.log)"; return 1
    fi
    local v
    v=$(node -p 'require(process.argv[1]).version' \
        "$d/node_modules/esptool-js/package.json" 2>/dev/null)
    if [ "$v" != "0.7.0" ]; then
        IOP_WHY="esptool-js is $v, not the pinned 0.7.0"; return 1
    fi
}

# iop_has CMD: the espdeck subcommand exists (not the placeholder).
iop_has() {
    [ -x "$ESPDECK" ] || { IOP_WHY="$ESPDECK is not built"; return 1; }
    if timeout 10 "$ESPDECK" "$1" --help 2>&1 | grep -q "is not built yet"
    then
        IOP_WHY="'espdeck $1' is not built yet"; return 1
    fi
}

# iop_fwdir CHIP: the hello-world folder of a chip (esp32c3 -> ESP32_C3).
iop_fwdir() {
    local c=${1#esp32}
    if [ -n "$c" ]; then c=_$(echo "$c" | tr a-z A-Z); fi
    echo "$FW/Hello-world/ESP32$c"
}

# iop_boot_offset CHIP: where the second-stage bootloader goes.
iop_boot_offset() {
    case $1 in
    esp32 | esp32s2) echo 0x1000 ;;
    esp32p4 | esp32c5) echo 0x2000 ;;
    *) echo 0x0 ;;
    esac
}

# iop_chip_name CHIP: esptool-js's CHIP_NAME.
iop_chip_name() {
    local c=${1#esp32}
    if [ -n "$c" ]; then echo "ESP32-$(echo "$c" | tr a-z A-Z)"; else echo ESP32; fi
}

# iop_sim_start CHIP PORT LOG ARGS...: start `espdeck sim` on
# socket://127.0.0.1:PORT (IOP_SCHEME=rfc2217 for RFC 2217) in the
# background; IOP_SIM_PID is its pid.
iop_sim_start() {
    local chip=$1 port=$2 log=$3
    shift 3
    "$ESPDECK" sim --chip "$chip" \
        --listen "${IOP_SCHEME:-socket}://127.0.0.1:$port" "$@" \
        > "$log" 2>&1 &
    IOP_SIM_PID=$!
    T_PIDS="$T_PIDS $IOP_SIM_PID"
    local i=0
    while [ $i -lt 100 ]; do
        if ! kill -0 "$IOP_SIM_PID" 2>/dev/null; then
            IOP_WHY="espdeck sim exited: $(tail -3 "$log" | tr '\n' ' ')"
            return 1
        fi
        ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
        sleep 0.1; i=$((i + 1))
    done
    IOP_WHY="espdeck sim did not listen on port $port within 10 s"
    return 1
}

# iop_sim_stop: stop the simulator started last (it saves its flash file).
iop_sim_stop() {
    [ -n "$IOP_SIM_PID" ] || return 0
    kill "$IOP_SIM_PID" 2>/dev/null
    local i=0
    while kill -0 "$IOP_SIM_PID" 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1; i=$((i + 1))
    done
    kill -9 "$IOP_SIM_PID" 2>/dev/null
    wait "$IOP_SIM_PID" 2>/dev/null
    IOP_SIM_PID=""
}

# iop_js OUT ARGS...: run esptool.mjs; stdout to OUT (RESULT/ERROR line),
# esptool-js's log to OUT.log.  Returns node's status.
iop_js() {
    local out=$1
    shift
    node "$IOP_DIR/esptool.mjs" "$@" > "$out" 2> "$out.log"
}

# iop_field OUT KEY: a field of the RESULT line in OUT ("" when absent).
iop_field() {
    node -e '
        const fs = require("fs");
        const l = fs.readFileSync(process.argv[1], "utf8").split("\n")
            .find((s) => s.startsWith("RESULT "));
        if (!l) process.exit(0);
        const v = JSON.parse(l.slice(7))[process.argv[2]];
        if (v !== undefined && v !== null) console.log(v);
    ' "$1" "$2"
}

# iop_error OUT: the ERROR line's message, or the log's last lines.
iop_error() {
    local e
    e=$(grep '^ERROR ' "$1" 2>/dev/null | head -1 | cut -c7-)
    [ -n "$e" ] || e="no result: $(tail -2 "$1.log" 2>/dev/null | tr '\n' ' ')"
    echo "$e"
}
