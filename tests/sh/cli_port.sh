#!/bin/bash
# Port sentences at the command line: a busy port names the process that
# holds its lock (not one that merely has it open), a tty that is not a
# serial line says so and where to look.
source tests/lib.sh

# ---- busy: the simulator has the pty open, `flock` holds the lock ----
if ! command -v flock >/dev/null 2>&1; then
    skip "cli busy port names the locker: flock (util-linux) is not installed"
else
    "$ESPDECK" sim --chip esp32 --listen "pty:$TMP/tty" 2>"$TMP/sim.err" &
    SIM=$!
    T_PIDS="$T_PIDS $SIM"
    i=0
    while [ ! -e "$TMP/tty" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    # flock opens and locks the pty, then waits for its child sleep
    flock -n "$TMP/tty" sleep 60 &
    LOCKER=$!
    T_PIDS="$T_PIDS $LOCKER"
    i=0
    while ! grep -q "FLOCK .* WRITE $LOCKER " /proc/locks && [ $i -lt 100 ]; do
        sleep 0.1; i=$((i + 1))
    done
    timeout 30 "$ESPDECK" info --port "$TMP/tty" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ $rc -eq 4 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
        grep -q "is busy: held by flock (pid $LOCKER); stop it" "$TMP/err" &&
        ! grep -q "pid $SIM)" "$TMP/err"; then
        ok "cli busy port names the locker"
    else
        notok "cli busy port names the locker (rc $rc, sim $SIM, flock" \
            "$LOCKER): $(head -3 "$TMP/err")"
    fi
    # its child sleep shares the lock: end both, by pid
    kids=$(cat "/proc/$LOCKER/task/$LOCKER/children" 2>/dev/null ||
        pgrep -P "$LOCKER")
    kill $kids "$LOCKER" 2>/dev/null
    wait "$LOCKER" 2>/dev/null
    # lock gone: the same port connects
    if timeout 30 "$ESPDECK" info --port "$TMP/tty" --json >"$TMP/out" \
        2>"$TMP/err" && grep -q '"chip":"ESP32"' "$TMP/out"; then
        ok "cli port free again once the lock is gone"
    else
        notok "cli port free again once the lock is gone: $(head -3 "$TMP/err")"
    fi
    kill "$SIM" 2>/dev/null
fi

# ---- a tty without serial line settings (a virtual console) ----
if [ -c /dev/tty0 ] && { : <>/dev/tty0; } 2>/dev/null; then
    timeout 30 "$ESPDECK" info --port /dev/tty0 >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ $rc -eq 4 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
        grep -q '/dev/tty0 is not a serial port (.*): espdeck ports lists the ports it sees' \
            "$TMP/err"; then
        ok "cli /dev/tty0 is not a serial port"
    else
        notok "cli /dev/tty0 is not a serial port (rc $rc): $(head -3 "$TMP/err")"
    fi
else
    skip "cli /dev/tty0 is not a serial port: no openable /dev/tty0 here"
fi
exit 0
