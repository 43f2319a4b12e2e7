#!/bin/bash
# The monitor on a network port (issue 10): when the connection to an
# rfc2217:// or socket:// server drops (here: `espdeck sim --listen` is
# stopped), the monitor says so in its output, connects to the same URL
# again until the server is back (another simulator on the same TCP port),
# says so again, and goes on showing the board's output.  `espdeck monitor
# --seconds` without a terminal; its exit code is 0 (it ran its time).
source tests/lib.sh

for scheme in socket rfc2217; do
    if ! sim_start --chip esp32 --no-pacing --listen "$scheme://127.0.0.1:0"; then
        notok "monitor reconnect $scheme: simulator: $(cat "$TMP/sim.err")"
        continue
    fi
    URL=$scheme://127.0.0.1:$SIM_PORT
    timeout 60 "$ESPDECK" monitor --port "$URL" --seconds 8 \
        >"$TMP/mon.out" 2>"$TMP/mon.err" &
    MON=$!
    # the board's power-up banner shows before the server goes away
    for _ in $(seq 1 100); do grep -q 'ets ' "$TMP/mon.out" && break; sleep 0.05; done
    sim_stop
    for _ in $(seq 1 100); do grep -q 'was lost' "$TMP/mon.out" && break; sleep 0.05; done
    "$ESPDECK" sim --chip esp32 --no-pacing --listen "$URL" 2>>"$TMP/sim2.err" &
    SIM2=$!
    T_PIDS="$T_PIDS $SIM2"
    wait $MON
    rc=$?
    kill $SIM2 2>/dev/null
    wait $SIM2 2>/dev/null
    tr -d '\r' < "$TMP/mon.out" > "$TMP/mon.txt"
    check "monitor reconnect $scheme: the lost connection is said in the output" \
        grep -q "^--- the connection to $URL was lost (.*); connecting again every 0.5 s ---\$" "$TMP/mon.txt"
    check "monitor reconnect $scheme: it connects to the same URL again and says so" \
        grep -q "^--- reconnected to $URL ---\$" "$TMP/mon.txt"
    check "monitor reconnect $scheme: the new server's board output follows" \
        test -n "$(sed -n '/^--- reconnected/,$p' "$TMP/mon.txt" | grep '^ets ')"
    check "monitor reconnect $scheme: exit 0 after --seconds" test $rc -eq 0
done
exit 0
