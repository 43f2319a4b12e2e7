#!/bin/bash
# espdeck sim --fault over the network: a bad spec is one sentence and exit
# 2; a cut closes the TCP connection at its byte offset, the next client
# finds the same board (the flasher stub still running, the same flash);
# the same spec and seed damage the same bytes in two runs.
source tests/lib.sh
if ! command -v python3 >/dev/null; then
    skip "sim_fault: python3 is not installed"
    exit 0
fi

"$ESPDECK" sim --chip esp32 --listen socket://127.0.0.1:0 \
    --fault 'h2b:flop=1e-4' >/dev/null 2>"$TMP/bad.err"
rc=$?
check "sim_fault: a bad spec exits 2" test "$rc" -eq 2
check "sim_fault: a bad spec is named in one sentence" \
    grep -q "fault 'h2b:flop=1e-4': unknown fault" "$TMP/bad.err"

cat > "$TMP/client.py" <<'PY'
import socket, struct, sys, time

def slip(b):
    return b"\xc0" + b.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"

def cmd(op, data=b"", chk=0):
    return slip(bytes([0, op]) + struct.pack("<HI", len(data), chk) + data)

SYNC = cmd(8, b"\x07\x07\x12\x20" + b"\x55" * 32)

def conn(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(0.3)
    return s

def drain(s, secs=0.3):
    got = b""
    end = time.time() + secs
    while time.time() < end:
        try:
            c = s.recv(65536)
        except socket.timeout:
            break
        if not c:
            return got, True
        got += c
    return got, False

port, what = int(sys.argv[1]), sys.argv[2]
if what == "cut":
    s = conn(port)
    drain(s)
    # a fake stub (no app descriptor): the ROM answers OHAI and the board
    # speaks the stub protocol from then on
    code = b"\x13" * 32
    chk = 0xEF
    for b in code:
        chk ^= b
    s.sendall(cmd(5, struct.pack("<IIII", 32, 1, 0x1800, 0x40080000)))
    s.sendall(cmd(7, struct.pack("<IIII", 32, 0, 0, 0) + code, chk))
    s.sendall(cmd(6, struct.pack("<II", 0, 0x40080004)))
    got, closed = drain(s, 0.5)
    print("ohai" if b"OHAI" in got else "no-ohai")
    # SYNCs until the cut (at host-to-board byte 400) closes the connection
    closed = False
    for i in range(20):
        try:
            s.sendall(SYNC)
        except OSError:
            closed = True
            break
        got, closed = drain(s, 0.1)
        if closed:
            break
    print("closed" if closed else "open")
    s.close()
    # the same board: a SYNC now gets the stub's answer (value 0), not the
    # ROM's; the cut frame left the stub's receiver out of step (as
    # esp-flasher-stub's), so as espdeck's re-sync: a SYNC, then a lone 0xC0
    # and a SYNC
    s = conn(port)
    s.sendall(SYNC)
    got, _ = drain(s, 0.5)
    s.sendall(bytes([0xC0]) + SYNC)
    more, _ = drain(s, 0.5)
    got += more
    stub = slip(bytes([1, 8, 2, 0, 0, 0, 0, 0, 0, 0]))
    print("stub-kept" if stub in got else "stub-lost %r" % got[:40])
else:
    # everything the board answers to 30 SYNCs through a damaging line
    s = conn(port)
    out = b""
    for i in range(30):
        s.sendall(SYNC)
        got, _ = drain(s, 0.05)
        out += got
    got, _ = drain(s, 0.3)
    sys.stdout.buffer.write(out + got)
PY

if ! sim_start --chip esp32 --listen socket://127.0.0.1:0 --no-pacing \
    --fault 'h2b:cut@400' -v; then
    notok "sim_fault: espdeck sim --fault did not start"
    exit 1
fi
python3 "$TMP/client.py" "$SIM_PORT" cut > "$TMP/cut.out" 2>&1
check "sim_fault: the stub starts before the cut" grep -qx ohai "$TMP/cut.out"
check "sim_fault: the cut closes the connection" grep -qx closed "$TMP/cut.out"
check "sim_fault: the next client finds the stub still running" \
    grep -qx stub-kept "$TMP/cut.out"
check "sim_fault: the simulator says the line was cut" \
    grep -q "fault: the line is cut" "$TMP/sim.err"
sim_stop

for run in 0 1 2; do
    spec='b2h:flip=0.02,b2h:junk=0.01,seed=5'
    [ $run = 0 ] && spec=''
    if ! sim_start --chip esp32 --listen socket://127.0.0.1:0 --no-pacing \
        --fault "$spec"; then
        notok "sim_fault: espdeck sim did not start"
        exit 1
    fi
    python3 "$TMP/client.py" "$SIM_PORT" noise > "$TMP/noise$run.out"
    sim_stop
done
check "sim_fault: replies came back" \
    test "$(wc -c < "$TMP/noise1.out")" -gt 0 -a "$(wc -c < "$TMP/noise0.out")" -gt 2000
check "sim_fault: the line damaged the replies" \
    sh -c "! cmp -s '$TMP/noise0.out' '$TMP/noise1.out'"
check "sim_fault: the same seed damages the same bytes" \
    cmp -s "$TMP/noise1.out" "$TMP/noise2.out"
