#!/bin/bash
# The production loop headless: `espdeck bench --batch --json` over
# in-process simulated boards counts its units and every record names the
# MAC of its slot's board; `espdeck records` summarises and exports; kill -9
# at any moment never leaves a counted torn record and a restart appends to
# the same file; an unwritable records file starts no unit; the boot check
# of `flash --monitor` has its own exit code.
source tests/lib.sh

if [ ! -f "$FW/Hello-world/ESP32/bootloader.bin" ]; then
    skip "bench: no shared firmware at $FW"
    exit 0
fi
FWABS=$(cd "$FW" && pwd)

# profile NAME EXPECT: a bench profile with the hello-world images
profile() {
    cat >"$TMP/$1.yaml" <<EOF
name: $1
chip: esp32
flash: {mode: dio, freq: 40m, size: 4MB}
partition_table:
  entries:
    - {name: nvs, type: data, subtype: nvs, offset: 0x9000, size: 24K}
    - {name: factory, type: app, subtype: factory, offset: 0x10000, size: 1M}
images:
  - {name: bootloader, offset: 0x1000, file: "$FWABS/Hello-world/ESP32/bootloader.bin"}
  - {partition: factory, file: "$FWABS/Hello-world/ESP32/hello_world.bin"}
accept:
  timeout: 3s
  expect: ["$2"]
EOF
}
profile good "^Hello world!$"
SLOTS=(--slot "sim:esp32?pacing=0&mac=24:0a:c4:00:00:01"
       --slot "sim:esp32?pacing=0&mac=24:0a:c4:00:00:02"
       --slot "sim:esp32?pacing=0&mac=24:0a:c4:00:00:03")

# ---- headless JSON: units counted, every record against its board's MAC
R=$TMP/r.jsonl
timeout 120 "$ESPDECK" bench "$TMP/good.yaml" --batch --json --units 6 \
    --reprogram --records "$R" --station st-1 --operator ann "${SLOTS[@]}" \
    >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 0 ] && python3 - "$TMP/out" "$R" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
want = {"1": "24:0a:c4:00:00:01", "2": "24:0a:c4:00:00:02",
        "3": "24:0a:c4:00:00:03"}
verdicts = [e for e in ev if e["event"] == "verdict"]
units = [e for e in ev if e["event"] == "unit"]
assert len(verdicts) == 6 and all(v["verdict"] == "PASS" for v in verdicts), verdicts
assert all(want[u["slot"]] == u["mac"] for u in units), units
assert all("slot" in e for e in ev if e["event"] != "summary")
s = ev[-1]
assert s["event"] == "summary" and s["records"] == 6 and s["units"] == 3, s
assert s["exit"] == 0
recs = [json.loads(l) for l in open(sys.argv[2])]
assert len(recs) == 6
for r in recs:
    assert r["mac"] == want[r["slot"]], r
    assert r["unit"] == r["mac"].replace(":", "")
    assert r["verdict"] == "PASS" and r["class"] is None
    assert r["boot"] == {"verdict": "pass", "line": "Hello world!"}
    assert r["station"] == "st-1" and r["operator"] == "ann"
    assert [i["action"] for i in r["images"]] == ["written"] * 3
    assert len(r["profile"]["sha256"]) == 64 and r["loader"] == "stub"
    assert r["chip"] == "esp32" and r["flash_id"] == "0x1640c8"
EOF
then
    ok "bench --json: 6 units over 3 slots, every record has its slot's MAC"
else
    notok "bench --json: rc $rc: $(tail -3 "$TMP/err")"
fi

# ---- simulated fixtures: units arrive and leave with counting-up MACs,
# found by the probe; faulty units fail with their class
timeout 120 "$ESPDECK" bench "$TMP/good.yaml" --batch --json --units 8 \
    --trigger probe --records "$TMP/u.jsonl" \
    --slot "sim:esp32?pacing=0&units=auto&mac=24:0a:c4:10:00:00&arrive=200ms&leave=2s&faults=2:panic,3:verify" \
    --slot "sim:esp32?pacing=0&units=auto&mac=24:0a:c4:20:00:00&arrive=200ms&leave=2s" \
    >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 5 ] && python3 - "$TMP/out" "$TMP/u.jsonl" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
recs = [json.loads(l) for l in open(sys.argv[2])]
assert len(recs) == 8, len(recs)
macs = [r["mac"] for r in recs]
assert len(set(macs)) == 8, macs          # each unit once
for r in recs:
    base = "24:0a:c4:10:00:" if r["slot"] == "1" else "24:0a:c4:20:00:"
    assert r["mac"].startswith(base), r
    n = int(r["mac"][-2:], 16) + 1         # the slot's n-th unit
    want = {2: "boot-check", 3: "verify"}.get(n) if r["slot"] == "1" else None
    assert r["class"] == want, (r["mac"], r["class"], r["message"])
    if want == "boot-check":
        assert r["boot"]["line"].startswith("Guru Meditation Error"), r["boot"]
units = [e["mac"] for e in ev if e["event"] == "unit"]
assert sorted(units) == sorted(macs), (units, macs)
s = ev[-1]
assert s["event"] == "summary" and s["units"] == 8 and s["pass"] == 6
assert s["failures"] == {"boot-check": 1, "verify": 1}, s
EOF
then
    ok "bench --json over simulated fixtures: 8 units with counting MACs, each recorded once, faults classed"
else
    notok "bench over fixtures: rc $rc: $(tail -3 "$TMP/err")"
fi

# ---- espdeck records: summary and CSV
"$ESPDECK" records "$R" >"$TMP/sum" 2>"$TMP/err"
rc=$?
if [ $rc -eq 0 ] && grep -q "units 3 (6 records): pass 3, fail 0, first-pass yield 100.0 %" "$TMP/sum" &&
    [ "$(grep -c '^  [123] ' "$TMP/sum")" -eq 3 ]; then
    ok "records: summary with units, yield and a row per slot"
else
    notok "records: summary: rc $rc: $(cat "$TMP/sum" "$TMP/err")"
fi
"$ESPDECK" records "$R" --csv >"$TMP/csv"
if [ "$(wc -l <"$TMP/csv")" -eq 7 ] && head -1 "$TMP/csv" | grep -q '^id,unit,start,end,' &&
    python3 -c "import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); assert all(x['verdict']=='PASS' and len(x['unit'])==12 for x in r)" "$TMP/csv"; then
    ok "records --csv: a header and one row per record"
else
    notok "records --csv: $(head -3 "$TMP/csv")"
fi

# ---- a boot check failure: FAIL boot-check, exit 5, the deciding line
profile never "self-test OK"
timeout 60 "$ESPDECK" bench "$TMP/never.yaml" --batch --units 1 \
    --records "$TMP/f.jsonl" --slot "sim:esp32?pacing=0" >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 5 ] && grep -q "^\[1\] FAIL (boot-check): the app did not print 'self-test OK'" "$TMP/out" &&
    grep -q '"class":"boot-check"' "$TMP/f.jsonl"; then
    ok "bench: a boot check failure is FAIL boot-check (exit 5)"
else
    notok "bench: boot check failure: rc $rc: $(cat "$TMP/out" | tail -3)"
fi

# ---- flash --monitor uses the same check, with its own exit code
timeout 60 "$ESPDECK" flash "$TMP/never.yaml" --port "sim:esp32?pacing=0" \
    --batch --monitor 0.1 >"$TMP/out" 2>"$TMP/err"
rc=$?
timeout 60 "$ESPDECK" flash "$TMP/good.yaml" --port "sim:esp32?pacing=0" \
    --batch --monitor 0.1 >"$TMP/out2" 2>"$TMP/err2"
rc2=$?
if [ $rc -eq 9 ] && grep -q "boot check FAILED: the app did not print 'self-test OK'" "$TMP/err" &&
    [ $rc2 -eq 0 ] && grep -q "boot check passed: the app printed 'Hello world!'" "$TMP/err2"; then
    ok "flash --monitor: the profile's boot check, exit 9 on FAIL"
else
    notok "flash --monitor boot check: rc $rc / $rc2: $(cat "$TMP/err" "$TMP/err2")"
fi

# ---- an unwritable records file: no unit starts, one sentence
mkdir -p "$TMP/ro" && chmod 555 "$TMP/ro"
if [ "$(id -u)" = 0 ]; then
    : >"$TMP/afile"
    RO=$TMP/afile/r.jsonl   # root writes anywhere, but not under a file
else
    RO=$TMP/ro/r.jsonl
fi
timeout 60 "$ESPDECK" bench "$TMP/good.yaml" --batch --units 1 --records "$RO" \
    --slot "sim:esp32?pacing=0" >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 7 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
    grep -q "cannot .* records .*$TMP" "$TMP/err" && ! grep -q unit "$TMP/out"; then
    ok "bench: an unwritable records file starts no unit and says why"
else
    notok "bench: unwritable records: rc $rc: $(cat "$TMP/err" "$TMP/out" | head -3)"
fi

# ---- kill -9 at any moment: no torn record counted; restart appends
K=$TMP/k.jsonl
valid() { python3 -c "
import json,sys
n=0
for l in open(sys.argv[1]):
    try: n += json.loads(l)['verdict'] in ('PASS','FAIL')
    except Exception: pass
print(n)" "$1"; }
bad=""
for delay in 0.7 1.3 1.9 2.6 3.4; do
    "$ESPDECK" bench "$TMP/good.yaml" --batch --units 100 --reprogram \
        --records "$K" "${SLOTS[@]}" >/dev/null 2>"$TMP/kerr" &
    pid=$!
    sleep $delay
    kill -9 $pid
    wait $pid 2>/dev/null
    n=$(valid "$K")
    got=$("$ESPDECK" records "$K" --json 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['records'])")
    [ "$n" = "$got" ] || bad="$bad after ${delay}s: $got counted, $n valid;"
done
# a crash in the middle of a write: a torn last line
head -c 150 "$R" >>"$K"
before=$(valid "$K")
timeout 120 "$ESPDECK" bench "$TMP/good.yaml" --batch --units 2 --reprogram \
    --records "$K" "${SLOTS[@]}" >/dev/null 2>"$TMP/kerr"
rc=$?
after=$(valid "$K")
got=$("$ESPDECK" records "$K" --json 2>"$TMP/kerr2" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['records'], d['skipped_lines'])")
if [ -z "$bad" ] && [ $rc -eq 0 ] && [ "$after" -eq $((before + 2)) ] &&
    grep -q "the last line of $K was torn (150 bytes" "$TMP/kerr" &&
    [ "$got" = "$after 1" ] && grep -q "1 line of $K is not a record" "$TMP/kerr2"; then
    ok "records: kill -9 never counts a torn record; a restart reports the torn line and appends ($after records)"
else
    notok "records after kill -9:$bad rc $rc, $before -> $after valid, records says '$got': $(cat "$TMP/kerr")"
fi

# ---- SIGINT: the first lets the units in progress finish, a second
# cancels them (recorded as cancelled)
PACED=(--baud 460800 --slot "sim:esp32?mac=24:0a:c4:00:00:07")
"$ESPDECK" bench "$TMP/good.yaml" --batch --reprogram --records "$TMP/s1.jsonl" \
    "${PACED[@]}" >"$TMP/out" 2>"$TMP/err" &
pid=$!
sleep 1
kill -INT $pid
timeout 60 tail --pid=$pid -f /dev/null
wait $pid
rc=$?
"$ESPDECK" bench "$TMP/good.yaml" --batch --reprogram --records "$TMP/s2.jsonl" \
    "${PACED[@]}" >"$TMP/out2" 2>"$TMP/err2" &
pid=$!
sleep 1
kill -INT $pid
sleep 0.2
kill -INT $pid
timeout 60 tail --pid=$pid -f /dev/null
wait $pid
rc2=$?
if [ $rc -eq 0 ] && [ "$(grep -c '"verdict":"PASS"' "$TMP/s1.jsonl")" -eq 1 ] &&
    grep -q "units in progress finish" "$TMP/err" &&
    [ $rc2 -eq 6 ] && [ "$(grep -c '"class":"cancelled"' "$TMP/s2.jsonl")" -eq 1 ]; then
    ok "bench: SIGINT lets the unit finish (PASS, exit 0); a second cancels it (recorded cancelled, exit 6)"
else
    notok "bench SIGINT: rc $rc / $rc2: $(cat "$TMP/s1.jsonl" "$TMP/s2.jsonl" | cut -c1-80; tail -2 "$TMP/err2")"
fi

# A unit flashed over a line that damages bytes: the engine recovers, and
# the record counts the recoveries per image and in all.  Damaged replies
# or a stall leave a block's fate open: a recovery proves the flash
# by MD5 and resumes.  Damaged blocks (host to board) are rejected unread
# by the stub and sent again: counted as `resent`.
bench_faulted() {   # NAME FAULT FIELD
    timeout 120 "$ESPDECK" bench tests/fixtures/profiles/sim-board.yaml \
        --batch --units 1 --slot "sim:esp32?pacing=0&fault=$2" \
        --records "$TMP/rec-$1.jsonl" >"$TMP/out-$1" 2>"$TMP/err-$1"
    rc=$?
    rec=$(python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).readline())
per = sum(i[sys.argv[2]] for i in o["images"])
print(o["verdict"], o[sys.argv[2]], per)' "$TMP/rec-$1.jsonl" "$3" 2>/dev/null)
    set -- "$1" "$2" "$3" $rec
    if [ $rc -eq 0 ] && [ "$4" = PASS ] && [ "${5:-0}" -gt 0 ] && [ "$5" = "$6" ]; then
        ok "bench: a unit flashed over a damaging line ($1) is recorded with its $3 ($5)"
    else
        notok "bench $3: rc $rc: $rec: $(tail -2 "$TMP/err-$1")"
    fi
}
bench_faulted stall "stall=4s@60000" recoveries
bench_faulted blocks "h2b:flip=1e-4,seed=3" resent
