// benchgen.mjs - the benchmark's flash set, generated deterministically.
//
//   node benchgen.mjs HELLO_WORLD_DIR OUT_DIR [APP_BYTES] [RATIO] [CHANGED]
//
// Writes OUT_DIR/app.bin: a well-formed ESP app image of about APP_BYTES
// (default 1.5 MiB) made of the real hello_world image's segments plus one
// flash-mapped data segment of filler, with the checksum byte and the
// appended SHA-256 recomputed.  The filler is a mix, in 1 KiB chunks, of
// windows of the real app and of structured pseudo-random words (instruction-
// like: few opcodes, random operands); the share of the latter is found by
// bisection so that zlib level 9 compresses the whole image to RATIO (default
// 0.60) of its size.  Everything comes from fixed seeds: the same input
// gives the same bytes.
//
// Writes OUT_DIR/app2.bin: the next build of that app, for the small-change
// reflash: CHANGED (default 13, the 3 % of the measured rebuild)
// places spread evenly over the filler get 16 edited bytes each, and the
// checksum and SHA-256 are recomputed (so the image's last sector changes
// too).  The JSON line says how many 4 KiB sectors differ.
//
// Writes OUT_DIR/partition-table.bin: nvs, phy_init and a 2 MiB factory app
// at 0x10000 (the hello-world table's 1 MiB factory is too small), with the
// MD5 row, padded to 3 KiB like ESP-IDF's.  Prints one JSON line.

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const [dir, out, appArg, ratioArg, changedArg] = process.argv.slice(2);
if (!dir || !out) {
    console.error("usage: benchgen.mjs HELLO_WORLD_DIR OUT_DIR [BYTES] [RATIO]");
    process.exit(2);
}
const APP_BYTES = Number(appArg || 1536 * 1024);
const RATIO = Number(ratioArg || 0.6);
const CHANGED = Number(changedArg || 13);
const CHUNK = 1024;

const hello = readFileSync(path.join(dir, "hello_world.bin"));

// ---- parse the real image ----
if (hello[0] !== 0xe9) throw new Error("hello_world.bin: not an ESP image");
const nseg = hello[1];
let pos = 24;
const segs = [];
for (let i = 0; i < nseg; i++) {
    const addr = hello.readUInt32LE(pos);
    const len = hello.readUInt32LE(pos + 4);
    segs.push({ addr, data: hello.subarray(pos + 8, pos + 8 + len) });
    pos += 8 + len;
}
const hashAppended = hello[23] === 1;

// ---- deterministic pseudo-random numbers (xorshift32) ----
function rng(seed) {
    let x = seed >>> 0 || 1;
    return () => {
        x ^= x << 13; x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5; x >>>= 0;
        return x;
    };
}

// Filler chunks, fixed whatever the share: chunk i is either a window of
// the real app (mostly code, slightly edited) or structured words; the
// choice is draw[i] < share, so raising the share only ever turns more
// chunks into words (the ratio is monotonic in it).
function fillerBytes(len) {
    return Math.floor(len / 4) * 4;
}
function makeChunks(n) {
    const a = rng(0x5eed1234), b = rng(0x0badf00d);
    const appChunks = [], wordChunks = [], draw = [];
    const ops = [0x13, 0x93, 0x23, 0x03, 0xb7, 0x37, 0x6f, 0xe7, 0x33, 0x63];
    for (let i = 0; i < n; i++) {
        const off = (a() % Math.floor((hello.length - CHUNK) / 4)) * 4;
        const c = Buffer.from(hello.subarray(off, off + CHUNK));
        for (let k = 0; k < 8; k++) c[a() % CHUNK] = a() & 0xff;
        appChunks.push(c);
        const w = Buffer.alloc(CHUNK);
        for (let k = 0; k < CHUNK; k += 4) {
            const r = b();
            w[k] = ops[r % ops.length];
            w[k + 1] = (r >>> 8) & 0xff;
            w[k + 2] = (r >>> 16) & 0x3f;
            w[k + 3] = (r >>> 24) & ((r & 0x100) ? 0xff : 0x0f);
        }
        wordChunks.push(w);
        draw.push(b() / 2 ** 32);
    }
    return { appChunks, wordChunks, draw };
}

function checksumOf(segments) {
    let c = 0xef;
    for (const s of segments) for (const v of s.data) c ^= v;
    return c;
}

function buildImage(filler) {
    const all = segs.slice();
    // Flash-mapped segment: its address agrees with its flash offset modulo
    // 64 KiB, as elf2image lays them out (the app sits at 0x10000).
    const dataOff = pos + 8;
    const base = ((segs[0].addr & ~0xffff) + 0x200000) >>> 0;
    all.push({ addr: (base + (dataOff & 0xffff)) >>> 0, data: filler });
    const parts = [];
    const hdr = Buffer.from(hello.subarray(0, 24));
    hdr[1] = all.length;
    parts.push(hdr);
    for (const s of all) {
        const h = Buffer.alloc(8);
        h.writeUInt32LE(s.addr, 0);
        h.writeUInt32LE(s.data.length, 4);
        parts.push(h, s.data);
    }
    let n = parts.reduce((t, p) => t + p.length, 0);
    const pad = 15 - (n % 16);
    parts.push(Buffer.alloc(pad, 0), Buffer.from([checksumOf(all)]));
    let img = Buffer.concat(parts);
    if (hashAppended) {
        img = Buffer.concat([img, createHash("sha256").update(img).digest()]);
    }
    return img;
}

const overhead = pos + 8 + 16 + (hashAppended ? 32 : 0);
const fillLen = fillerBytes(APP_BYTES - overhead);
const nChunks = Math.ceil(fillLen / CHUNK);
const { appChunks, wordChunks, draw } = makeChunks(nChunks);

function imageFor(share) {
    const f = Buffer.alloc(nChunks * CHUNK);
    for (let i = 0; i < nChunks; i++) {
        (draw[i] < share ? wordChunks[i] : appChunks[i]).copy(f, i * CHUNK);
    }
    return buildImage(f.subarray(0, fillLen));
}
const ratioOf = (b) => zlib.deflateSync(b, { level: 9 }).length / b.length;

let lo = 0, hi = 1, img = imageFor(0), r = ratioOf(img), best = 0;
if (r < RATIO) {
    for (let it = 0; it < 14; it++) {
        const mid = (lo + hi) / 2;
        const m = imageFor(mid), rm = ratioOf(m);
        if (rm < RATIO) lo = mid; else hi = mid;
        if (Math.abs(rm - RATIO) < Math.abs(r - RATIO)) {
            img = m; r = rm; best = mid;
        }
    }
}

// ---- the next build: CHANGED scattered edits ----
function nextBuild(share) {
    const f = Buffer.alloc(nChunks * CHUNK);
    for (let i = 0; i < nChunks; i++) {
        (draw[i] < share ? wordChunks[i] : appChunks[i]).copy(f, i * CHUNK);
    }
    for (let k = 0; k < CHANGED; k++) {
        const at = Math.floor(((k + 0.5) * fillLen) / CHANGED) & ~3;
        for (let j = 0; j < 16 && at + j < fillLen; j++) f[at + j] ^= 0x5a;
    }
    return buildImage(f.subarray(0, fillLen));
}
const img2 = nextBuild(best);
let changedSectors = 0;
for (let o = 0; o < img.length; o += 4096) {
    if (!img.subarray(o, o + 4096).equals(img2.subarray(o, o + 4096)))
        changedSectors++;
}

// ---- partition table ----
function entry(type, sub, off, size, label) {
    const e = Buffer.alloc(32, 0);
    e.writeUInt16LE(0x50aa, 0);
    e[2] = type; e[3] = sub;
    e.writeUInt32LE(off, 4);
    e.writeUInt32LE(size, 8);
    e.write(label, 12, "latin1");
    return e;
}
const rows = Buffer.concat([
    entry(1, 0x02, 0x9000, 0x6000, "nvs"),
    entry(1, 0x01, 0xf000, 0x1000, "phy_init"),
    entry(0, 0x00, 0x10000, 0x200000, "factory"),
]);
const md5row = Buffer.alloc(32, 0xff);
md5row[0] = 0xeb; md5row[1] = 0xeb;
createHash("md5").update(rows).digest().copy(md5row, 16);
const table = Buffer.alloc(0xc00, 0xff);
Buffer.concat([rows, md5row]).copy(table, 0);
if (img.length > 0x200000) throw new Error("app does not fit its partition");

writeFileSync(path.join(out, "app.bin"), img);
writeFileSync(path.join(out, "app2.bin"), img2);
writeFileSync(path.join(out, "partition-table.bin"), table);
const boot = readFileSync(path.join(dir, "bootloader.bin"));
const setLen = boot.length + table.length + img.length;
const setDefl = zlib.deflateSync(boot, { level: 9 }).length +
    zlib.deflateSync(table, { level: 9 }).length +
    zlib.deflateSync(img, { level: 9 }).length;
console.log(JSON.stringify({
    app_bytes: img.length,
    app_ratio: Number(r.toFixed(4)),
    word_share: Number(((lo + hi) / 2).toFixed(4)),
    set_bytes: setLen,
    set_deflated: setDefl,
    app_sectors: Math.ceil(img.length / 4096),
    app2_changed_sectors: changedSectors,
}));
