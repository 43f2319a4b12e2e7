# Helpers for tests/sh/*.sh (sourced).  Each check prints one TAP-like line.
ESPDECK=${ESPDECK:-$PWD/build/espdeck}
SHARED=${ESPDECK_SHARED:-../shared}
FW=$SHARED/firmware
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
