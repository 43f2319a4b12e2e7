#!/usr/bin/env python3
"""Write the small seed corpora of tests/fuzz/corpus/ (committed; run again
only to change them): python3 tests/fuzz/seeds.py [PTABLE_BIN]

PTABLE_BIN: a partition table binary espdeck generated (profile dump), for
the binary-table and build-import seeds."""
import base64
import hashlib
import json
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def slip(body):
    return b"\xc0" + body.replace(b"\xdb", b"\xdb\xdd").replace(
        b"\xc0", b"\xdb\xdc") + b"\xc0"


def reply(op, value=0, data=b"", status=b"\0\0\0\0", size=None):
    d = data + status
    return bytes([1, op]) + struct.pack("<HI", len(d) if size is None
                                        else size, value) + d


def command(op, data=b"", chk=0):
    return bytes([0, op]) + struct.pack("<HI", len(data), chk) + data


def xsum(d):
    c = 0xEF
    for b in d:
        c ^= b
    return c


def image(chip_id=0, segs=((0x3FFB0000, b"\x11" * 40),
                           (0x40080000, b"\x22" * 64))):
    h = bytes([0xE9, len(segs), 2, 0x20]) + struct.pack("<I", 0x40080004)
    h += bytes([0xEE, 0, 0, 0]) + struct.pack("<H", chip_id) + bytes(
        [0]) + struct.pack("<HH", 0, 399) + bytes(4) + bytes([1])
    body = b""
    c = 0xEF
    for a, d in segs:
        body += struct.pack("<II", a, len(d)) + d
        for b in d:
            c ^= b
    img = h + body
    pad = 15 - (len(img) % 16)
    img += bytes(pad) + bytes([c])
    return img + hashlib.sha256(img).digest()


def main():
    ptab = open(sys.argv[1], "rb").read() if len(sys.argv) > 1 else b""

    # SLIP: the slicing byte, then a line
    put("slip", "frames", b"\x07" + slip(reply(8, 0x20120707)) * 2 +
        b"ets Jun  8 2016 00:22:57\r\n" + slip(b"\xdb\xc0\x01"))
    put("slip", "bad-escape", b"\x01\xc0\x01\xdb\x41\x02\xc0\xc0\xc0junk")
    put("slip", "roundtrip", b"\x00" + bytes(range(256)))

    # proto: mode (bit 0 stub, bit 1 two status bytes), command, slicing
    put("proto", "rom-sync", b"\x00\x00\x05" +
        slip(reply(8, 0x20120707)) * 8)
    put("proto", "rom-read-reg", b"\x00\x01\x07" +
        slip(reply(0x0A, 0x00F01D83)))
    put("proto", "rom-md5", b"\x00\x02\x10" +
        slip(reply(0x13, 0, b"0123456789abcdef" * 2)))
    put("proto", "stub-md5", b"\x01\x03\x03" +
        slip(reply(0x13, 0, bytes(range(16)), b"\0\0")))
    put("proto", "rejected", b"\x00\x04\x40" +
        slip(reply(0x0A, 0, b"", b"\x01\x05\0\0")) * 3)
    put("proto", "late-then-right", b"\x00\x01\x02" +
        slip(reply(0x08, 0x20120707)) + slip(reply(0x0A, 0x1234)))
    put("proto", "stub-error", b"\x01\x06\x09" +
        slip(reply(0x11, 0, b"", b"\xc1\x00")))
    put("proto", "banner", b"\x00\x00\x01rst:0x1 (POWERON_RESET),boot:0x13 "
        b"(SPI_FAST_FLASH_BOOT)\r\nwaiting for download\r\n" +
        slip(reply(8, 0x20120707)))

    # RFC 2217: a slicing byte, then what a server says
    IAC, SB, SE, WILL, DO, DONT, WONT = 255, 250, 240, 251, 253, 254, 252
    neg = bytes([IAC, DO, 44, IAC, WILL, 0, IAC, DO, 0, IAC, WILL, 3])
    ack = bytes([IAC, SB, 44, 101, 0, 1, 0xC2, 0, IAC, SE])
    put("rfc2217", "negotiation", b"\x03" + neg + ack +
        bytes([IAC, SB, 44, 105, 8, IAC, SE]) + b"data\xff\xffmore")
    put("rfc2217", "refusal", b"\x01" + bytes([IAC, DONT, 44, IAC, WONT, 44,
                                               IAC, WILL, 1, IAC, DO, 24]))
    put("rfc2217", "notify", b"\x05" + bytes([IAC, SB, 44, 107, 0x30, IAC,
                                              SE, IAC, 241, IAC, SB, 44, 100])
        + b"x" * 70 + bytes([IAC, SE]))

    # profiles (beside them: p.csv and app.bin, tests/fuzz/fuzz_profile.c)
    put("profile", "entries", """chip: esp32
flash: {size: 4MB, mode: dio, freq: 40m}
partition_table:
  offset: 0x8000
  entries:
    - {name: nvs, type: data, subtype: nvs, offset: 0x9000, size: 24K}
    - {name: otadata, type: data, subtype: ota, size: 8K}
    - {name: factory, type: app, subtype: factory, size: 1M, image: app.bin}
    - {name: ota_0, type: app, subtype: ota_0, size: 1M, flags: [readonly]}
images:
  - {name: bootloader, offset: 0x1000, file: app.bin}
""")
    put("profile", "csv", """name: board
chip: esp32c3
port: sim:esp32c3
baud: 921600
partition_table: {csv: p.csv}
images:
  - {partition: factory, file: app.bin}
""")
    put("profile", "bench", """chip: esp32
partition_table: {csv: p.csv}
images: [{partition: factory, file: app.bin}]
bench:
  slots: [{port: sim:esp32}, {port: sim:esp32, name: B}]
accept:
  expect: ["Hello world!"]
  reject: ["Guru Meditation"]
  timeout: 5
""")
    put("profile", "errors", "chip: esp33\nflash: {size: 3MB}\npartition_"
        "table:\n  entries:\n    - {name: a, type: apps, size: 1Q}\n"
        "images: [{name: x, offset: 0x10000000, file: /nonexistent}]\n"
        "\tbad: tab\n")

    # ESP images
    put("image", "esp32", image(0))
    put("image", "esp32c3", image(5, ((0x3C000000, b"\x33" * 100),)))
    put("image", "truncated", image(0)[:30])
    put("image", "many-segments", bytes([0xE9, 16, 2, 0x20]) + bytes(20) +
        struct.pack("<II", 0x40080000, 0xFFFFFFF0))

    # partition tables
    if ptab:
        put("ptable_bin", "generated", ptab)
        put("ptable_bin", "no-md5", ptab[:64] + b"\xff" * 32)
        put("ptable_bin", "bad-md5", ptab[:96] + bytes(32))
    put("ptable_csv", "default",
        "# Name, Type, SubType, Offset, Size, Flags\nnvs, data, nvs, 0x9000,"
        " 0x6000,\nphy_init, data, phy, 0xf000, 0x1000,\nfactory, app, "
        "factory, 0x10000, 1M,\n")
    put("ptable_csv", "auto", "nvs,data,nvs,,24K\notadata,data,ota,,8K\n"
        "ota_0,app,ota_0,,1M,readonly\nota_1,app,ota_1,,1M\n"
        "spiffs,data,spiffs,,0x100000,encrypted:readonly\n")
    put("ptable_csv", "odd", "x,0x40,0x99,,4K\n\n#c\ny,app,test,0x400000,"
        "64K\nz,data,undefined,0xFFFFFFFF,4K\n")

    # stub JSON
    put("stub_json", "full", json.dumps({
        "entry": 0x400BE598, "text_start": 0x400BE000,
        "text": base64.b64encode(b"\x13" * 64).decode(),
        "data_start": 0x3FFBDB00,
        "data": base64.b64encode(b"\x00\x01" * 8).decode()}))
    put("stub_json", "text-only", '{"entry": 1074266112, "text_start": '
        '1074266112, "text": "AAAA"}')
    put("stub_json", "bad", '{"entry": "x", "text": "!!!", "data": 3}')

    # ESP-IDF build import: 2 length bytes, flasher_args.json, table
    fa = json.dumps({
        "write_flash_args": ["--flash_mode", "dio", "--flash_size", "detect",
                             "--flash_freq", "40m"],
        "flash_settings": {"flash_mode": "dio", "flash_size": "detect",
                           "flash_freq": "40m"},
        "flash_files": {"0x1000": "bootloader/bootloader.bin",
                        "0x10000": "hello_world.bin",
                        "0x8000": "partition_table/partition-table.bin"},
        "bootloader": {"offset": "0x1000",
                       "file": "bootloader/bootloader.bin"},
        "app": {"offset": "0x10000", "file": "hello_world.bin"},
        "partition-table": {"offset": "0x8000",
                            "file": "partition_table/partition-table.bin"},
        "extra_esptool_args": {"after": "hard_reset",
                               "before": "default_reset", "stub": True,
                               "chip": "esp32"}}, indent=1).encode()
    put("idfimport", "build", struct.pack(">H", len(fa)) + fa + ptab)
    put("idfimport", "no-table", struct.pack(">H", len(fa)) + fa)
    put("idfimport", "not-json", b"\x00\x05{\"a\":" + ptab[:64])

    # the simulator's requests: mode byte, then the line
    sync = command(8, b"\x07\x07\x12\x20" + b"\x55" * 32)
    rr = command(0x0A, struct.pack("<I", 0x40001000))
    data = b"\xa5" * 1024
    fb = command(2, struct.pack("<IIII", 0x1000, 1, 0x400, 0x10000))
    fd = command(3, struct.pack("<IIII", len(data), 0, 0, 0) + data,
                 xsum(data))
    md5 = command(0x13, struct.pack("<IIII", 0x10000, 0x400, 0, 0))
    put("sim_request", "rom", b"\x00" + slip(sync) + slip(rr) + slip(fb) +
        slip(fd) + slip(md5) + slip(command(4, b"\0\0\0\0")))
    import zlib
    z = zlib.compress(bytes(range(256)) * 32, 9)
    put("sim_request", "stub-deflate", b"\x01" + slip(sync) + slip(command(
        0x10, struct.pack("<IIII", 8192, 1, 0x4000, 0x20000))) + slip(
        command(0x11, struct.pack("<IIII", len(z), 0, 0, 0) + z, xsum(z))) +
        slip(command(0x12, b"\1\0\0\0")) + slip(command(0x13, struct.pack(
            "<IIII", 0x20000, 8192, 0, 0))) + slip(command(0xD2, struct.pack(
                "<IIII", 0, 256, 64, 1))) + b"\xc0\x00\x01\x00\x00\xc0")
    put("sim_request", "stub-misc", b"\x83" + slip(command(0x0F, struct.pack(
        "<II", 921600, 115200))) + slip(command(0xD1, struct.pack(
            "<II", 0x1000, 0x1000))) + slip(command(0xEE)) + slip(command(
                0x09, struct.pack("<IIII", 0x60008000, 1, 0xFFFFFFFF, 0))))
    sim_telnet_seeds()


def sim_telnet_seeds():
    """What an RFC 2217 client (esptool through pyserial, espdeck) says to
    the simulator's server: a slicing byte, then the client's bytes."""
    IAC, SB, SE, WILL, DO, DONT, WONT = 255, 250, 240, 251, 253, 254, 252

    def cp(code, *v):
        return bytes([IAC, SB, 44, code]) + bytes(v).replace(
            b"\xff", b"\xff\xff") + bytes([IAC, SE])

    neg = bytes([IAC, WILL, 0, IAC, DO, 0, IAC, WILL, 44, IAC, DO, 3,
                 IAC, WILL, 3])
    sync = command(8, b"\x07\x07\x12\x20" + b"\x55" * 32)
    put("sim_telnet", "pyserial-open", b"\x00" + neg + cp(0) +
        cp(1, 0, 1, 0xC2, 0) + cp(2, 8) + cp(3, 1) + cp(4, 1) + cp(5, 1) +
        cp(5, 9) + cp(5, 12) + cp(12, 3) + cp(11, 0xFF) + cp(10, 0))
    # the classic reset (DTR and RTS one request each), then SYNC, whose
    # 0xff-free data still goes through the IAC escaping path
    put("sim_telnet", "reset-and-sync", b"\x05" + neg + cp(5, 8) +
        cp(5, 12) + cp(5, 9) + cp(5, 11) + cp(5, 12) + slip(sync) +
        b"\xff\xff" + cp(1, 0, 0x0E, 0x10, 0))
    put("sim_telnet", "broken", b"\x8f" + bytes([IAC, DONT, 44, IAC, WONT,
        44, IAC, 241, IAC, SB, 44, 0]) + b"x" * 80 + bytes(
        [IAC, SE, IAC, SB, 44, 5, IAC, 7, IAC, SB, IAC, IAC, IAC, SE,
         IAC, SB, 1, 2, IAC, SE, IAC, SB, 44, 1, IAC, SE, IAC]))


if __name__ == "__main__":
    main()
