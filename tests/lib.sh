# Helpers for tests/sh/*.sh (sourced).  Each check prints one TAP-like line.
ESPDECK=${ESPDECK:-$PWD/build/espdeck}
SHARED=${ESPDECK_SHARED:-../shared}
FW=$SHARED/firmware
# fixture profiles read their images from ${ESPDECK_FIRMWARE}
ESPDECK_FIRMWARE=${ESPDECK_FIRMWARE:-$(cd "$FW" 2>/dev/null && pwd)}
export ESPDECK_FIRMWARE
TMP=$(mktemp -d "${TMPDIR:-/tmp}/espdeck-sh.XXXXXX")
trap 't_cleanup' EXIT INT TERM
T_PIDS=""
t_cleanup() {
    for p in $T_PIDS; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
skip() { echo "skip - $*"; }
# check NAME COMMAND...: ok if the command succeeds
check() { n=$1; shift; if "$@"; then ok "$n"; else notok "$n"; fi; }
# A free TCP port on loopback.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $(( 20000 + $$ % 20000 ))
}
# wait_port PORT: wait up to 10 s until something listens.
wait_port() {
    i=0
    while [ $i -lt 100 ]; do
        ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
# sim_start ARGS...: run `espdeck sim ARGS...` in the background (stdout to
# $TMP/sim.out, stderr to $TMP/sim.err) and wait up to 10 s for its listening
# line; sets SIM_PID and SIM_PORT, the TCP port that line names (so
# --listen SCHEME://127.0.0.1:0 needs no free_port).  Fails without the line.
sim_start() {
    : > "$TMP/sim.err"
    "$ESPDECK" sim "$@" > "$TMP/sim.out" 2> "$TMP/sim.err" &
    SIM_PID=$!
    T_PIDS="$T_PIDS $SIM_PID"
    SIM_PORT=""
    for _ in $(seq 1 200); do
        SIM_PORT=$(sed -n 's/.* on [a-z0-9]*:\/\/127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$TMP/sim.err")
        [ -n "$SIM_PORT" ] && break
        sleep 0.05
    done
    [ -n "$SIM_PORT" ]
}
# sim_stop: SIGTERM the simulator sim_start started and wait for it; SIM_RC
# is its exit status.
sim_stop() {
    kill -TERM "$SIM_PID" 2>/dev/null
    wait "$SIM_PID" 2>/dev/null
    SIM_RC=$?
}
# Console tests through tmux; the script defines tm() (tmux on its own
# socket) and WAIT (seconds).  run NAME CMD: type CMD and then its exit
# status ("EXIT=N") in window NAME; screen NAME: what NAME shows;
# wait_for NAME TEXT: until the screen shows TEXT (fixed string).
run() { local n=$1; shift; tm send-keys -t "$n" "$*; echo EXIT=\$?" Enter; }
screen() { tm capture-pane -p -t "$1"; }
wait_for() {
    local i=0 lim=$((WAIT * 5))
    while [ $i -lt $lim ]; do
        screen "$1" | grep -qF -- "$2" && return 0
        sleep 0.2
        i=$((i + 1))
    done
    echo "--- timed out waiting for '$2' in $1; screen:" >&2
    screen "$1" >&2
    return 1
}
# silent_start: a TCP peer that accepts connections and never answers (a
# board that does not talk); sets SILENT_PORT.
silent_start() {
    python3 -u -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1])
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' > "$TMP/silent.port" &
    T_PIDS="$T_PIDS $!"
    for _ in $(seq 1 100); do [ -s "$TMP/silent.port" ] && break; sleep 0.05; done
    SILENT_PORT=$(cat "$TMP/silent.port")
    [ -n "$SILENT_PORT" ]
}
# fake_idf_build CHIP: an ESP-IDF-like build folder in $TMP (flasher_args.json
# naming the shared Hello-world/<CHIP> images by absolute path) for the
# shipped profiles' idf_build; prints its path.
fake_idf_build() {
    local chip=$1 up dir boot=0x0 fw
    up=ESP32${chip#esp32}; up=${up^^}; [ "$up" != ESP32 ] && up=ESP32_${up#ESP32}
    case $chip in esp32|esp32s2) boot=0x1000 ;; esp32c5|esp32p4) boot=0x2000 ;; esac
    fw=$(cd "$FW/Hello-world/$up" 2>/dev/null && pwd) || return 1
    dir=$TMP/idf-build/$chip
    mkdir -p "$dir"
    cat > "$dir/flasher_args.json" <<JSON
{
  "flash_settings": {"flash_mode": "dio", "flash_size": "2MB", "flash_freq": "keep"},
  "flash_files": {"$boot": "$fw/bootloader.bin", "0x8000": "$fw/partition-table.bin",
                  "0x10000": "$fw/hello_world.bin"},
  "bootloader": {"offset": "$boot", "file": "$fw/bootloader.bin"},
  "partition-table": {"offset": "0x8000", "file": "$fw/partition-table.bin"},
  "app": {"offset": "0x10000", "file": "$fw/hello_world.bin"},
  "extra_esptool_args": {"after": "hard_reset", "before": "default_reset", "chip": "$chip"}
}
JSON
    echo "$dir"
}
