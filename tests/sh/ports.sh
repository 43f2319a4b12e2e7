#!/bin/bash
# espdeck ports: the table and --json run, exit 0, and the JSON parses.
source tests/lib.sh

out=$("$ESPDECK" ports 2>"$TMP/err"); rc=$?
check "ports: exits 0" test "$rc" -eq 0
if grep -q '^PORT ' <<<"$out" || grep -q '^no serial ports found' <<<"$out"; then
    ok "ports: prints a table or says none were found"
else
    notok "ports: prints a table or says none were found"
fi
check "ports: names the simulated boards" grep -q 'sim:esp32c3' <<<"$out"
check "ports: nothing on stderr" test ! -s "$TMP/err"

json=$("$ESPDECK" ports --json 2>"$TMP/err"); rc=$?
check "ports --json: exits 0" test "$rc" -eq 0
# one line, no pretty-printing (like every other --json output)
check "ports --json: one line, no tabs" \
    test "$(wc -l <<<"$json")" -eq 1 -a "$(tr -cd '\t' <<<"$json" | wc -c)" -eq 0
# Same ports in both outputs, and every object has the documented keys.
rows=$(grep -c '^/' <<<"$out")
if command -v node >/dev/null 2>&1; then
    if node -e '
        const a = JSON.parse(require("fs").readFileSync(0, "utf8"));
        if (!Array.isArray(a)) process.exit(1);
        for (const o of a)
            for (const k of ["name", "usb", "vid", "pid", "serial",
                             "description", "bridge", "usb_serial_jtag"])
                if (!(k in o)) { console.error("missing " + k); process.exit(1); }
        if (a.length !== Number(process.argv[1])) {
            console.error("json has " + a.length + " ports, table " + process.argv[1]);
            process.exit(1);
        }' "$rows" <<<"$json"; then
        ok "ports --json: an array of port objects matching the table"
    else
        notok "ports --json: an array of port objects matching the table"
    fi
elif command -v python3 >/dev/null 2>&1; then
    if python3 -c '
import json, sys
a = json.load(sys.stdin)
assert isinstance(a, list) and len(a) == int(sys.argv[1])
for o in a:
    for k in ("name", "usb", "vid", "pid", "serial", "description", "bridge"):
        assert k in o, k' "$rows" <<<"$json"; then
        ok "ports --json: an array of port objects matching the table"
    else
        notok "ports --json: an array of port objects matching the table"
    fi
else
    skip "ports --json: parses: neither node nor python3 is installed"
fi

"$ESPDECK" ports --nonsense >/dev/null 2>"$TMP/err"; rc=$?
check "ports: a bad argument is a usage error (exit 2)" test "$rc" -eq 2
check "ports: the usage error says what was wrong" grep -q "unknown argument '--nonsense'" "$TMP/err"
