#!/bin/bash
# A remote board behind ser2net: the simulator on a pty, ser2net serving
# that pty as RFC 2217 (telnet(rfc2217)), espdeck info over rfc2217://.
source tests/lib.sh

MAC=24:0a:c4:5e:12:34

if ! command -v ser2net >/dev/null 2>&1; then
    skip "ser2net: ser2net is not installed (make deps installs it)"
    exit 0
fi
if "$ESPDECK" info --port sim:esp32 2>&1 | grep -q "not built yet"; then
    skip "ser2net: espdeck info not built yet"
    exit 0
fi
if "$ESPDECK" sim --help 2>&1 | grep -q "not built yet"; then
    skip "ser2net: espdeck sim not built yet"
    exit 0
fi

"$ESPDECK" sim --chip esp32 --listen "pty:$TMP/ttysim" --mac "$MAC" \
    2>"$TMP/sim.err" &
T_PIDS="$T_PIDS $!"
i=0
while [ ! -e "$TMP/ttysim" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -e "$TMP/ttysim" ]; then
    notok "ser2net: the simulator offers pty:$TMP/ttysim"
    sed 's/^/  sim: /' "$TMP/sim.err" >&2
    exit 0
fi
ok "ser2net: the simulator offers a pty"

P=$(free_port)
# ser2net 4.x YAML (man ser2net.yaml): telnet with RFC 2217 on loopback,
# the pty as a serial device at 115200 8N1, no modem-line control (local).
cat > "$TMP/ser2net.yaml" <<YAML
%YAML 1.1
---
connection: &espsim
    accepter: telnet(rfc2217),tcp,127.0.0.1,$P
    connector: serialdev,$TMP/ttysim,115200n81,local
    options:
      kickolduser: true
YAML
ser2net -d -u -c "$TMP/ser2net.yaml" -P "$TMP/ser2net.pid" \
    >"$TMP/ser2net.log" 2>&1 &
T_PIDS="$T_PIDS $!"
if ! wait_port "$P"; then
    notok "ser2net: ser2net listens on 127.0.0.1:$P"
    sed 's/^/  ser2net: /' "$TMP/ser2net.log" >&2
    exit 0
fi
ok "ser2net: ser2net listens with telnet(rfc2217)"

out=$(timeout 60 "$ESPDECK" info --port "rfc2217://127.0.0.1:$P" 2>"$TMP/info.err")
rc=$?
check "ser2net: espdeck info over rfc2217:// exits 0" test "$rc" -eq 0
check "ser2net: info reports ESP32" grep -q 'ESP32' <<<"$out"
check "ser2net: info reports the simulator's MAC" grep -qi "$MAC" <<<"$out"
if [ "$rc" -ne 0 ] || ! grep -qi "$MAC" <<<"$out"; then
    sed 's/^/  info: /' "$TMP/info.err" >&2
    sed 's/^/  out: /' <<<"$out" >&2
    sed 's/^/  ser2net: /' "$TMP/ser2net.log" >&2
    sed 's/^/  sim: /' "$TMP/sim.err" >&2
fi

# A socket:// client gets a sentence, not a hang, when nothing listens.
Q=$(free_port)
timeout 20 "$ESPDECK" info --port "socket://127.0.0.1:$Q" >/dev/null 2>"$TMP/refused.err"
rc=$?
check "ser2net: a refused connection fails (exit 4)" test "$rc" -eq 4
check "ser2net: ...with the sentence" grep -q "connection refused on socket://127.0.0.1:$Q" "$TMP/refused.err"
