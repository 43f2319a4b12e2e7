# espdeck sim: command line, raw TCP and RFC 2217 transports, state kept
# across connections, --flash-file across runs.  The client is a small
# Python 3 script (Debian: python3) that speaks SLIP and Telnet itself.
source tests/lib.sh

if ! command -v python3 >/dev/null; then
    skip "sim_cli: python3 is not installed (apt-get install python3)"
    exit 0
fi

cat > "$TMP/client.py" <<'EOF'
import hashlib, socket, struct, sys, time

IAC, SB, SE, WILL, WONT, DO, DONT = 255, 250, 240, 251, 252, 253, 254
COMPORT = 44

class Conn:
    def __init__(self, port, telnet=False):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.telnet = telnet
        self.buf = b""          # data bytes received
        self.cmds = []          # telnet commands received: (cmd, opt) / ("SB", bytes)
        self._t = 0; self._sb = b""; self._cmd = None
    def close(self):
        self.s.close()
    def send(self, data):
        if self.telnet:
            data = data.replace(b"\xff", b"\xff\xff")
        self.s.sendall(data)
    def send_raw(self, data):
        self.s.sendall(data)
    def _feed(self, chunk):
        if not self.telnet:
            self.buf += chunk
            return
        for c in chunk:
            st = self._t
            if st == 0:
                if c == IAC: self._t = 1
                else: self.buf += bytes([c])
            elif st == 1:
                if c == IAC: self.buf += b"\xff"; self._t = 0
                elif c in (WILL, WONT, DO, DONT): self._cmd = c; self._t = 2
                elif c == SB: self._sb = b""; self._t = 3
                else: self._t = 0
            elif st == 2:
                self.cmds.append((self._cmd, c)); self._t = 0
            elif st == 3:
                if c == IAC: self._t = 4
                else: self._sb += bytes([c])
            elif st == 4:
                if c == SE: self.cmds.append(("SB", self._sb)); self._t = 0
                else: self._sb += bytes([c]); self._t = 3
    def pump(self, secs, until_timeout=True):
        end = time.time() + secs
        while time.time() < end:
            self.s.settimeout(max(0.01, end - time.time()))
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            self._feed(chunk)
            if not until_timeout:
                break
    def wait_for(self, pred, secs=5):
        end = time.time() + secs
        while time.time() < end and not pred():
            self.pump(0.05, until_timeout=False)
        return pred()

def slip(b):
    return b"\xc0" + b.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"

def frames(buf):
    out = []
    for part in buf.split(b"\xc0"):
        if len(part) >= 8 and part[0] == 1:
            out.append(part.replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb"))
    return out

def cmd(op, data=b"", chk=0):
    return slip(struct.pack("<BBHI", 0, op, len(data), chk) + data)

SYNC = cmd(0x08, b"\x07\x07\x12\x20" + b"\x55" * 32)

def sync(c, chk=0):
    c.buf = b""
    c.send(cmd(0x08, b"\x07\x07\x12\x20" + b"\x55" * 32, chk))
    c.wait_for(lambda: len([f for f in frames(c.buf) if f[1] == 8]) >= 8, 5)
    c.pump(0.2)
    return len([f for f in frames(c.buf) if f[1] == 8])

def request(c, op, data=b"", chk=0, secs=10):
    c.buf = b""
    c.send(cmd(op, data, chk))
    c.wait_for(lambda: any(f[1] == op for f in frames(c.buf)), secs)
    for f in frames(c.buf):
        if f[1] == op:
            return f
    return None

def status_ok(f):
    return f is not None and f[-4] == 0 if len(f) >= 12 else f is not None and f[-2] == 0

PATTERN = bytes((i * 7 + 3) & 0xFF for i in range(4096))
ADDR = 0x100000

def write_pattern(c):
    if sync(c) < 1: return "no sync"
    f = request(c, 0x0D, b"\0" * 8)                      # SPI_ATTACH
    f = request(c, 0x02, struct.pack("<IIII", 4096, 1, 4096, ADDR))  # FLASH_BEGIN
    if f is None: return "no FLASH_BEGIN reply"
    chk = 0xEF
    for b in PATTERN: chk ^= b
    f = request(c, 0x03, struct.pack("<IIII", 4096, 0, 0, 0) + PATTERN, chk)
    if f is None: return "no FLASH_DATA reply"
    return "ok"

def md5_of(c):
    f = request(c, 0x13, struct.pack("<IIII", ADDR, 4096, 0, 0), secs=10)
    if f is None: return None
    size = struct.unpack("<H", f[2:4])[0]
    data = f[8:8 + size]
    return data[:32].decode("ascii", "replace")

def main():
    what = sys.argv[1]
    port = int(sys.argv[2]) if sys.argv[2].isdigit() else 0
    if what == "banner-sync":
        c = Conn(port)
        c.wait_for(lambda: b"download" in c.buf, 5)
        banner = c.buf
        n = sync(c)
        print("banner:", banner.decode("latin-1").replace("\r\n", "|"))
        print("sync-replies:", n)
    elif what == "write":
        c = Conn(port)
        c.pump(0.3)
        print("write:", write_pattern(c))
    elif what == "md5":
        c = Conn(port)
        c.pump(0.3)
        sync(c)
        want = hashlib.md5(PATTERN).hexdigest()
        got = md5_of(c)
        print("md5:", "match" if got == want else "differ %s %s" % (got, want))
    elif what == "rfc2217":
        c = Conn(port, telnet=True)
        # Client side of RFC 2217 negotiation.
        c.send_raw(bytes([IAC, WILL, COMPORT, IAC, DO, COMPORT, IAC, WILL, 0, IAC, DO, 0,
                          IAC, WILL, 3, IAC, DO, 3, IAC, DO, 1]))
        c.wait_for(lambda: (DO, COMPORT) in c.cmds and (WILL, COMPORT) in c.cmds, 3)
        print("neg-do-comport:", (DO, COMPORT) in c.cmds)
        print("neg-will-comport:", (WILL, COMPORT) in c.cmds)
        print("neg-wont-echo:", (WONT, 1) in c.cmds)
        def sb(code, val):
            c.send_raw(bytes([IAC, SB, COMPORT, code]) + val.replace(b"\xff", b"\xff\xff") + bytes([IAC, SE]))
        def reply(code):
            c.wait_for(lambda: any(x[0] == "SB" and x[1][:2] == bytes([COMPORT, code]) for x in c.cmds), 3)
            for x in c.cmds:
                if x[0] == "SB" and x[1][:2] == bytes([COMPORT, code]):
                    c.cmds.remove(x)
                    return x[1][2:]
            return None
        sb(1, struct.pack(">I", 115200)); print("baud-ack:", reply(101) == struct.pack(">I", 115200))
        sb(2, b"\x08"); print("datasize-ack:", reply(102) == b"\x08")
        sb(3, b"\x01"); print("parity-ack:", reply(103) == b"\x01")
        sb(4, b"\x01"); print("stopsize-ack:", reply(104) == b"\x01")
        sb(0, b""); sig = reply(100); print("signature:", bool(sig))
        sb(12, b"\x03"); print("purge-ack:", reply(112) == b"\x03")
        sb(11, b"\xff"); print("modemmask-ack:", reply(111) == b"\xff")
        # esptool's classic reset: DTR off RTS on (EN low), DTR on RTS off
        # (IO0 low, EN high), DTR off.
        sb(5, b"\x09"); a1 = reply(105)
        sb(5, b"\x0b"); a2 = reply(105)
        time.sleep(0.1)
        c.buf = b""
        sb(5, b"\x08"); a3 = reply(105)
        sb(5, b"\x0c"); a4 = reply(105)
        time.sleep(0.05)
        sb(5, b"\x09"); a5 = reply(105)
        print("control-acks:", [a1, a2, a3, a4, a5] == [b"\x09", b"\x0b", b"\x08", b"\x0c", b"\x09"])
        sb(5, b"\x07"); print("dtr-query:", reply(105) == b"\x09")
        c.wait_for(lambda: b"download" in c.buf, 3)
        print("reset-banner:", b"waiting for download" in c.buf)
        # A SYNC whose checksum field carries 0xFF (doubled on the wire).
        print("sync-replies:", sync(c, chk=0xFF))
        # READ_REG of the MAC eFuse word: all 0xFF with --mac ff:...:ff,
        # so the reply crosses the wire with IAC doubled.
        f = request(c, 0x0A, struct.pack("<I", 0x3FF5A004))
        print("mac-word:", hex(struct.unpack("<I", f[4:8])[0]) if f else None)
    elif what == "pty":
        import os, tty, select, termios
        path = sys.argv[2]
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd, termios.TCSANOW)  # keep what the board printed already
        buf = b""
        def pump(secs, want):
            nonlocal buf
            end = time.time() + secs
            while time.time() < end and not want(buf):
                r, _, _ = select.select([fd], [], [], 0.05)
                if r:
                    buf += os.read(fd, 65536)
        pump(3, lambda b: b"download" in b)
        print("pty-banner:", b"waiting for download" in buf)
        buf = b""
        os.write(fd, SYNC)
        pump(3, lambda b: len([f for f in frames(b) if f[1] == 8]) >= 8)
        print("pty-sync-replies:", len([f for f in frames(buf) if f[1] == 8]))
        os.close(fd)
    elif what == "busy":
        a = Conn(port); a.pump(0.2)
        b = Conn(port); b.pump(0.5)
        print("second:", b.buf.decode("latin-1").strip())

main()
EOF

PY="python3 $TMP/client.py"

# ---- bad arguments: one sentence, exit 2 ----
bad_args() {
    "$ESPDECK" sim "$@" > "$TMP/bad.out" 2> "$TMP/bad.err"
    rc=$?
    [ $rc -eq 2 ] && [ "$(wc -l < "$TMP/bad.err")" -eq 1 ] && [ ! -s "$TMP/bad.out" ]
}
check "sim_cli: unknown chip exits 2 with one line" bad_args --chip esp99 --listen socket://127.0.0.1:0
check "sim_cli: missing --listen exits 2" bad_args --chip esp32
check "sim_cli: bad --flash-size exits 2" bad_args --chip esp32 --listen socket://127.0.0.1:0 --flash-size 4XB
check "sim_cli: bad --mac exits 2" bad_args --chip esp32 --listen socket://127.0.0.1:0 --mac 12:34
check "sim_cli: unknown option exits 2" bad_args --chip esp32 --listen socket://127.0.0.1:0 --frob
check "sim_cli: non-loopback needs --bind-any" bad_args --chip esp32 --listen socket://0.0.0.0:0
check "sim_cli: unknown scheme exits 2" bad_args --chip esp32 --listen tcp://127.0.0.1:0
if grep -q 'bind-any' "$TMP/bad.err" || true; then :; fi

# ---- raw socket: banner, SYNC, reconnect keeps flash ----
if sim_start --chip esp32 --listen socket://127.0.0.1:0 --no-pacing; then
    ok "sim_cli: listening line printed"
    if grep -q '^espdeck sim: ESP32 on socket://127.0.0.1:[0-9]* (flash 4 MiB, MAC 24:0a:c4:[0-9a-f:]*)$' "$TMP/sim.err"; then
        ok "sim_cli: listening line format"
    else
        notok "sim_cli: listening line format: $(cat "$TMP/sim.err")"
    fi
    $PY banner-sync "$SIM_PORT" > "$TMP/c1.out" 2>&1
    check "sim_cli: download banner on connect" grep -q 'banner: ets Jul 29 2019 12:21:46||rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT' "$TMP/c1.out"
    check "sim_cli: SYNC gets 8 replies" grep -q '^sync-replies: 8$' "$TMP/c1.out"
    $PY busy "$SIM_PORT" > "$TMP/busy.out" 2>&1
    check "sim_cli: a second client is turned away" grep -q 'in use by another client' "$TMP/busy.out"
    $PY write "$SIM_PORT" > "$TMP/w.out" 2>&1
    check "sim_cli: flash written over the ROM protocol" grep -q '^write: ok$' "$TMP/w.out"
    $PY md5 "$SIM_PORT" > "$TMP/m.out" 2>&1
    check "sim_cli: reconnect keeps the flash" grep -q '^md5: match$' "$TMP/m.out"
    sim_stop
    check "sim_cli: SIGTERM ends with exit 0" test "$SIM_RC" -eq 0
else
    notok "sim_cli: listening line printed: $(cat "$TMP/sim.err")"
fi

# ---- --flash-file persists across runs ----
FF="$TMP/flash.bin"
if sim_start --chip esp32 --listen socket://127.0.0.1:0 --no-pacing --flash-file "$FF"; then
    $PY write "$SIM_PORT" > "$TMP/w2.out" 2>&1
    sim_stop
    check "sim_cli: flash file written on exit" test "$(stat -c %s "$FF" 2>/dev/null)" = 4194304
    if python3 -c "
import sys
d = open('$FF', 'rb').read()
p = bytes((i * 7 + 3) & 0xFF for i in range(4096))
sys.exit(0 if d[0x100000:0x101000] == p and d[0:16] == b'\xff' * 16 else 1)"; then
        ok "sim_cli: flash file holds the written bytes"
    else
        notok "sim_cli: flash file holds the written bytes"
    fi
    if sim_start --chip esp32 --listen socket://127.0.0.1:0 --no-pacing --flash-file "$FF"; then
        $PY md5 "$SIM_PORT" > "$TMP/m2.out" 2>&1
        check "sim_cli: flash file read back on the next run" grep -q '^md5: match$' "$TMP/m2.out"
        sim_stop
    else
        notok "sim_cli: second run with --flash-file: $(cat "$TMP/sim.err")"
    fi
else
    notok "sim_cli: start with --flash-file: $(cat "$TMP/sim.err")"
fi

# ---- RFC 2217 ----
if sim_start --chip esp32 --listen rfc2217://127.0.0.1:0 --no-pacing --mac ff:ff:ff:ff:ff:ff; then
    $PY rfc2217 "$SIM_PORT" > "$TMP/r.out" 2>&1
    for k in neg-do-comport neg-will-comport neg-wont-echo baud-ack datasize-ack parity-ack \
             stopsize-ack signature purge-ack modemmask-ack control-acks dtr-query reset-banner; do
        check "sim_cli: rfc2217 $k" grep -q "^$k: True$" "$TMP/r.out"
    done
    check "sim_cli: rfc2217 SYNC with IAC in the frame" grep -q '^sync-replies: 8$' "$TMP/r.out"
    check "sim_cli: rfc2217 IAC doubled in replies" grep -q '^mac-word: 0xffffffff$' "$TMP/r.out"
    sim_stop
else
    notok "sim_cli: rfc2217 start: $(cat "$TMP/sim.err")"
fi
[ -s "$TMP/r.out" ] && sed 's/^/# /' "$TMP/r.out" >&2

# ---- pyserial's RFC 2217 client (Debian python3-serial), as esptool uses it ----
PYSERIAL=""
for py in /usr/bin/python3 python3; do
    if "$py" -c 'import serial' 2>/dev/null; then PYSERIAL=$py; break; fi
done
cat > "$TMP/pyserial.py" <<'PYEOF'
import sys, time, serial
s = serial.serial_for_url("rfc2217://127.0.0.1:%s?logging=warning" % sys.argv[1],
                          baudrate=115200, timeout=0.2)
# esptool's classic reset into the ROM loader
s.dtr = False; s.rts = True; time.sleep(0.1)
s.dtr = True; s.rts = False; time.sleep(0.05)
s.dtr = False
buf = b""
end = time.time() + 3
while time.time() < end and b"download" not in buf:
    buf += s.read(1024)
print("banner:", b"ESP-ROM:esp32c3" in buf and b"wait uart0 download" in buf)
s.reset_input_buffer()
s.write(b"\xc0\x00\x08\x24\x00\x00\x00\x00\x00\x07\x07\x12\x20" + b"\x55" * 32 + b"\xc0")
buf = b""
end = time.time() + 3
while time.time() < end and buf.count(b"\xc0\x01\x08") < 8:
    buf += s.read(1024)
print("sync-replies:", buf.count(b"\xc0\x01\x08"))
s.baudrate = 460800   # SET-BAUDRATE must be acknowledged
print("baud:", s.baudrate)
s.close()
PYEOF
if [ -z "$PYSERIAL" ]; then
    skip "sim_cli: pyserial rfc2217 client: python3-serial is not installed"
elif sim_start --chip esp32c3 --listen rfc2217://127.0.0.1:0; then
    "$PYSERIAL" "$TMP/pyserial.py" "$SIM_PORT" > "$TMP/ps.out" 2>&1
    check "sim_cli: pyserial rfc2217 reset into download mode" grep -q '^banner: True$' "$TMP/ps.out"
    check "sim_cli: pyserial rfc2217 SYNC gets 8 replies" grep -q '^sync-replies: 8$' "$TMP/ps.out"
    check "sim_cli: pyserial rfc2217 baud change" grep -q '^baud: 460800$' "$TMP/ps.out"
    if grep -qiE 'warning|timeout|rejected|error' "$TMP/ps.out"; then
        notok "sim_cli: pyserial reports no negotiation problems"
    else
        ok "sim_cli: pyserial reports no negotiation problems"
    fi
    sed 's/^/# pyserial: /' "$TMP/ps.out" >&2
    sim_stop
else
    notok "sim_cli: start for pyserial: $(cat "$TMP/sim.err")"
fi

# ---- pty: raw, a symlink to the slave, removed on exit ----
"$ESPDECK" sim --chip esp32 --listen "pty:$TMP/esp32-tty" --no-pacing 2> "$TMP/pty.err" &
PTY_PID=$!
T_PIDS="$T_PIDS $PTY_PID"
for _ in $(seq 1 100); do [ -L "$TMP/esp32-tty" ] && break; sleep 0.05; done
if [ -L "$TMP/esp32-tty" ]; then
    check "sim_cli: pty line names the path" grep -q "^espdeck sim: ESP32 on pty:$TMP/esp32-tty " "$TMP/pty.err"
    $PY pty "$TMP/esp32-tty" > "$TMP/p.out" 2>&1
    check "sim_cli: pty download banner" grep -q '^pty-banner: True$' "$TMP/p.out"
    check "sim_cli: pty SYNC gets 8 replies" grep -q '^pty-sync-replies: 8$' "$TMP/p.out"
    kill -TERM "$PTY_PID"; wait "$PTY_PID" 2>/dev/null
    check "sim_cli: pty symlink removed on exit" test ! -e "$TMP/esp32-tty" -a ! -L "$TMP/esp32-tty"
else
    notok "sim_cli: pty symlink made: $(cat "$TMP/pty.err")"
fi
exit 0
