// esptool.mjs - drive esptool-js (an independent client nobody here wrote)
// against a target on a TCP socket, for the interop tests and the
// benchmark.
//
//   node esptool.mjs --port [socket://|rfc2217://]HOST:PORT [--baud B]
//                    [--rom-baud B] [--before MODE] CMD ARGS
//
// socket:// is raw TCP (no modem lines: use --before no_reset, the
// default); rfc2217:// carries baud and DTR/RTS, so esptool-js's own
// reset sequences (--before default_reset) drive the board's lines.
//
//   identify                      chip name, description, MAC, flash id/size
//   write [--no-compress] ADDR=FILE...
//                                 writeFlash with MD5 verification (the MD5
//                                 of each padded image is checked by
//                                 esptool-js against SPI_FLASH_MD5)
//   read ADDR SIZE FILE           readFlash into FILE
//
// esptool-js is found under $ESPTOOL_JS_DIR (a folder holding node_modules,
// set up by `npm ci` from this folder's package files).  The result is one
// line "RESULT {json}" on stdout; a failure prints "ERROR message" and exits
// 1.  esptool-js's own chatter (its TRACE lines go to console.log) is moved
// to stderr so stdout holds only the result.

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";

console.log = (...a) => process.stderr.write(a.join(" ") + "\n");
console.info = console.log;
console.debug = console.log;

function die(msg) {
    process.stdout.write("ERROR " + String(msg).replace(/\s+/g, " ") + "\n");
    process.exit(1);
}

function parseNum(s) {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) die(`not a number: ${s}`);
    return n;
}

// ---- a Web Serial SerialPort look-alike over TCP ----

// RFC 2217 (Telnet COM-PORT-OPTION): just what esptool-js needs - baud
// and DTR/RTS - so that its own reset sequences drive the board's lines.
const IAC = 255, SB = 250, SE = 240, WILL = 251, WONT = 252, DO = 253,
    DONT = 254, COMPORT = 44, CP_SET_BAUDRATE = 1, CP_SET_CONTROL = 5;

class TcpSerialPort {
    constructor(host, port, rfc2217) {
        this.host = host;
        this.port = port;
        this.rfc2217 = rfc2217;
        this.tn = { state: 0, sb: [] };
        this.sock = null;
        this.readable = null;
        this.writable = null;
        this.bauds = [];
        this.rxBytes = 0;
        this.txBytes = 0;
    }

    getInfo() {
        return {};
    }

    async open(opts) {
        this.bauds.push(opts.baudRate);
        const sock = net.connect({ host: this.host, port: this.port });
        sock.setNoDelay(true);
        await new Promise((resolve, reject) => {
            sock.once("connect", resolve);
            sock.once("error", reject);
        });
        this.sock = sock;
        const self = this;
        this.readable = new ReadableStream({
            start(controller) {
                sock.on("data", (b) => {
                    self.rxBytes += b.length;
                    if (self.rfc2217) b = self.telnetIn(b);
                    if (self.discarding || b.length === 0) return;
                    controller.enqueue(new Uint8Array(b));
                });
                sock.on("end", () => {
                    try { controller.close(); } catch { /* cancelled */ }
                });
                sock.on("error", (e) => {
                    try { controller.error(e); } catch { /* closed */ }
                });
            },
            cancel() {
                sock.destroy();
            },
        });
        // The simulator powers up when the first client attaches and its
        // ROM prints the boot banner then, paced at 115200 (~10 ms).  With
        // "no_reset" esptool-js syncs at once, and its SLIP reader fails a
        // sync attempt on every non-SLIP byte ("Invalid head of packet"):
        // five attempts go by inside the banner and the connect fails.  A
        // real board in download mode was powered before the port opened,
        // so wait until the line has been quiet for 40 ms (at most 1 s) and
        // drop what arrived meanwhile (esptool-js's own flushInput() runs
        // before its read loop has pulled the queued banner).
        if (this.rfc2217) {
            sock.write(Buffer.from([IAC, WILL, COMPORT, IAC, DO, 0,
                                    IAC, WILL, 0, IAC, DO, 3]));
            this.comPort(CP_SET_BAUDRATE, u32be(opts.baudRate));
        }
        if (this.bauds.length === 1) await this.quiet(40, 1000);
        this.writable = new WritableStream({
            write(chunk) {
                self.txBytes += chunk.length;
                let b = Buffer.from(chunk);
                if (self.rfc2217) b = telnetEscape(b);
                return new Promise((resolve, reject) => {
                    sock.write(b, (e) => (e ? reject(e) : resolve()));
                });
            },
        });
    }

    comPort(code, value) {
        const v = telnetEscape(Buffer.from(value));
        this.sock.write(Buffer.concat([Buffer.from([IAC, SB, COMPORT, code]),
                                       v, Buffer.from([IAC, SE])]));
    }

    // Strip Telnet commands, answer option offers, keep the data bytes.
    telnetIn(b) {
        const out = [];
        const t = this.tn;
        for (const c of b) {
            switch (t.state) {
            case 0: if (c === IAC) t.state = 1; else out.push(c); break;
            case 1:
                if (c === IAC) { out.push(c); t.state = 0; }
                else if (c === SB) { t.sb = []; t.state = 3; }
                else if (c >= WILL) { t.cmd = c; t.state = 2; }
                else t.state = 0;
                break;
            case 2: // option negotiation: accept what we use, refuse others
                if (t.cmd === WILL || t.cmd === DO) {
                    const ok = [0, 3, COMPORT].includes(c);
                    const ans = t.cmd === WILL ? (ok ? DO : DONT)
                                               : (ok ? WILL : WONT);
                    this.sock.write(Buffer.from([IAC, ans, c]));
                }
                t.state = 0;
                break;
            case 3: if (c === IAC) t.state = 4; else t.sb.push(c); break;
            case 4: // replies to our COM-PORT requests are not needed
                if (c === SE) t.state = 0;
                else { t.sb.push(c); t.state = 3; }
                break;
            }
        }
        return Buffer.from(out);
    }

    async quiet(idleMs, maxMs) {
        const t0 = Date.now();
        let last = Date.now();
        const onData = () => { last = Date.now(); };
        this.discarding = true;
        this.sock.on("data", onData);
        while (Date.now() - last < idleMs && Date.now() - t0 < maxMs) {
            await new Promise((r) => setTimeout(r, 5));
        }
        this.sock.off("data", onData);
        this.discarding = false;
        this.settleMs = Date.now() - t0;
    }

    async close() {
        if (this.sock) this.sock.destroy();
        this.sock = null;
        this.readable = null;
        this.writable = null;
    }

    // Raw TCP carries no modem lines and no baud rate: the simulator
    // learns the rate from CHANGE_BAUDRATE.  setBaudRate is there so that
    // esptool-js changes baud in place instead of reopening the port.
    async setSignals(sig) {
        if (!this.rfc2217 || !this.sock) return;
        this.signals = (this.signals || 0) + 1;
        if (sig.dataTerminalReady !== undefined) {
            this.comPort(CP_SET_CONTROL, [sig.dataTerminalReady ? 8 : 9]);
        }
        if (sig.requestToSend !== undefined) {
            this.comPort(CP_SET_CONTROL, [sig.requestToSend ? 11 : 12]);
        }
    }
    async setBaudRate(baud) {
        if (this.rfc2217 && this.sock) {
            this.comPort(CP_SET_BAUDRATE, u32be(baud));
        }
        this.bauds.push(baud);
    }
}

function u32be(n) {
    return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

function telnetEscape(b) {
    if (!b.includes(IAC)) return b;
    const out = [];
    for (const c of b) { out.push(c); if (c === IAC) out.push(IAC); }
    return Buffer.from(out);
}

// ---- command line ----

const args = process.argv.slice(2);
let hostPort = null;
let baud = 115200;
let romBaud = 115200;
let compress = true;
let before = "no_reset";
const rest = [];
for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--port") hostPort = args[++i];
    else if (a === "--baud") baud = parseNum(args[++i]);
    else if (a === "--rom-baud") romBaud = parseNum(args[++i]);
    else if (a === "--no-compress") compress = false;
    else if (a === "--before") before = args[++i];
    else rest.push(a);
}
if (!hostPort || rest.length === 0) {
    die("usage: esptool.mjs --port HOST:PORT [--baud B] CMD ARGS");
}
const m = /^(?:(socket|rfc2217):\/\/)?([^:]+):(\d+)$/.exec(hostPort);
if (!m) die(`--port takes [socket://|rfc2217://]HOST:PORT, not ${hostPort}`);
const cmd = rest[0];

const base = process.env.ESPTOOL_JS_DIR;
if (!base) die("ESPTOOL_JS_DIR is not set (the folder with node_modules)");
let esptool;
try {
    const req = createRequire(path.join(path.resolve(base), "package.json"));
    esptool = await import(pathToFileURL(req.resolve("esptool-js")).href);
} catch (e) {
    die(`cannot load esptool-js from ${base}: ${e.message}`);
}
const { ESPLoader, Transport } = esptool;

const lines = [];
const terminal = {
    clean() {},
    writeLine(s) { lines.push(s); process.stderr.write("| " + s + "\n"); },
    write(s) { process.stderr.write(s); },
};

const serial = new TcpSerialPort(m[2], Number(m[3]), m[1] === "rfc2217");
const transport = new Transport(serial, !!process.env.ESPTOOL_JS_TRACE);
const loader = new ESPLoader({
    transport,
    baudrate: baud,
    romBaudrate: romBaud,
    terminal,
    debugLogging: !!process.env.ESPTOOL_JS_TRACE,
});

const md5hex = (u8) => createHash("md5").update(u8).digest("hex");
const result = { cmd };
const t0 = performance.now();

async function connect() {
    await loader.main(before);
    result.chip = loader.chip.CHIP_NAME;
    result.connect_ms = Math.round(performance.now() - t0);
}

async function identify() {
    await connect();
    result.description = await loader.chip.getChipDescription(loader);
    result.mac = await loader.chip.readMac(loader);
    const id = await loader.readFlashId();
    result.flash_id = "0x" + (id >>> 0).toString(16).padStart(6, "0");
    result.flash_size = loader.DETECTED_FLASH_SIZES[(id >> 16) & 0xff] ?? null;
    result.stub = loader.IS_STUB;
}

async function write(specs) {
    if (specs.length === 0) die("write: no ADDR=FILE given");
    const fileArray = specs.map((s) => {
        const k = s.indexOf("=");
        if (k < 0) die(`write takes ADDR=FILE, not ${s}`);
        return {
            address: parseNum(s.slice(0, k)),
            data: new Uint8Array(readFileSync(s.slice(k + 1))),
        };
    });
    await connect();
    const t1 = performance.now();
    await loader.writeFlash({
        fileArray,
        flashMode: "keep",
        flashFreq: "keep",
        flashSize: "keep",
        eraseAll: false,
        compress,
        reportProgress: () => {},
        calculateMD5Hash: md5hex,
    });
    result.write_ms = Math.round(performance.now() - t1);
    // writeFlash only logs a mismatch; turn its log into a verdict.
    const bad = lines.filter((l) => /does not match|mismatch/i.test(l));
    const good = lines.filter((l) => /Hash of data verified/.test(l));
    if (bad.length) throw new Error("esptool-js: " + bad[0]);
    if (good.length !== fileArray.length) {
        throw new Error(`esptool-js verified ${good.length} of ` +
                        `${fileArray.length} images`);
    }
    result.verified = good.length;
    result.bytes = fileArray.reduce((n, f) => n + f.data.length, 0);
}

async function read(addr, size, file) {
    await connect();
    const t1 = performance.now();
    const data = await loader.readFlash(addr, size);
    result.read_ms = Math.round(performance.now() - t1);
    if (data.length < size) {
        throw new Error(`readFlash returned ${data.length} of ${size} bytes`);
    }
    writeFileSync(file, data.subarray(0, size));
    result.bytes = size;
    result.md5 = md5hex(data.subarray(0, size));
    // The stub ends READ_FLASH with the MD5 of what it sent, as 16 raw
    // bytes; readFlash leaves that frame unread.  Check it.
    const dig = await loader.transport.read(3000);
    if (!(dig instanceof Uint8Array) || dig.length !== 16) {
        throw new Error("no 16-byte MD5 frame after the READ_FLASH data");
    }
    const dev = Buffer.from(dig).toString("hex");
    if (dev !== result.md5) {
        throw new Error(`READ_FLASH MD5 from the target ${dev} does not ` +
                        `match the data received (${result.md5})`);
    }
}

// A watchdog: never hang a test.
const limit = Number(process.env.ESPTOOL_JS_TIMEOUT || 300) * 1000;
const watchdog = setTimeout(() => die(`timed out after ${limit / 1000} s`),
                            limit);

try {
    if (cmd === "identify") await identify();
    else if (cmd === "write") await write(rest.slice(1));
    else if (cmd === "read") {
        if (rest.length !== 4) die("read takes ADDR SIZE FILE");
        await read(parseNum(rest[1]), parseNum(rest[2]), rest[3]);
    } else die(`unknown command ${cmd}`);
    await loader.after("no_reset_stub");
    result.total_ms = Math.round(performance.now() - t0);
    result.bauds = serial.bauds;
    result.settle_ms = serial.settleMs;
    result.signals = serial.signals || 0;
    result.rx_bytes = serial.rxBytes;
    result.tx_bytes = serial.txBytes;
    await transport.disconnect().catch(() => {});
} catch (e) {
    die(e && e.message ? e.message : e);
}
clearTimeout(watchdog);
process.stdout.write("RESULT " + JSON.stringify(result) + "\n");
process.exit(0);
