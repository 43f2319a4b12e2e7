#!/bin/bash
# Per-user defaults in $XDG_CONFIG_HOME/espdeck/config.yaml (issue 10):
# port and baud where the command line gives none, the command line wins,
# a broken config is one sentence with file:line:col.  tests/run.sh gives
# each run its own XDG_CONFIG_HOME; this script uses a folder of its own.
source tests/lib.sh
export XDG_CONFIG_HOME=$TMP/config
mkdir -p "$XDG_CONFIG_HOME/espdeck"
C=$XDG_CONFIG_HOME/espdeck/config.yaml

printf 'port: "sim:esp32c3?pacing=0"\nbaud: 460800\n' > "$C"
out=$(timeout 60 "$ESPDECK" info 2>&1); rc=$?
check "config: info takes the config's port" test $rc -eq 0 -a -n "$(echo "$out" | grep '^Chip: *ESP32-C3')"
out=$(timeout 60 "$ESPDECK" info -p 'sim:esp32s3?pacing=0' 2>&1)
check "config: --port wins over the config" test -n "$(echo "$out" | grep '^Chip: *ESP32-S3')"
timeout 60 "$ESPDECK" erase -v 0x10000 4K >"$TMP/out" 2>"$TMP/err"
check "config: erase takes the config's port and baud" \
    test $? -eq 0 -a -n "$(grep '460800 baud' "$TMP/err")"
timeout 60 "$ESPDECK" erase -v -b 230400 0x10000 4K >"$TMP/out" 2>"$TMP/err"
check "config: --baud wins over the config" test -n "$(grep '230400 baud' "$TMP/err")"
# every command that connects takes the config's baud where neither
# --baud nor the profile gives one (command line > profile > config)
grep -v '^baud:' tests/fixtures/profiles/sim-board.yaml |
    sed 's/^port: .*/port: auto/' > "$TMP/nobaud.yaml"
printf 'port: "sim:esp32?pacing=0"\nbaud: 460800\n' > "$C"
baud_used() { grep -q "baud rate now $1\$" "$TMP/err"; }
timeout 60 "$ESPDECK" flash "$TMP/nobaud.yaml" --batch -v >"$TMP/out" 2>"$TMP/err"
check "config: flash of a profile without baud takes the config's port and baud" \
    test $? -eq 0 -a -n "$(baud_used 460800 && echo y)"
timeout 60 "$ESPDECK" flash tests/fixtures/profiles/sim-board.yaml --batch -v \
    -p 'sim:esp32?pacing=0' >"$TMP/out" 2>"$TMP/err"
check "config: a profile's own baud goes before the config's" baud_used 921600
timeout 60 "$ESPDECK" flash "$TMP/nobaud.yaml" --batch -v -b 230400 >"$TMP/out" 2>"$TMP/err"
check "config: --baud goes before the config's baud in flash" baud_used 230400
sed 's/^port: .*/port: auto\nbaud: 230400/' "$TMP/nobaud.yaml" > "$TMP/b230.yaml"
timeout 60 "$ESPDECK" flash "$TMP/b230.yaml" --batch -v -b 921600 >"$TMP/out" 2>"$TMP/err"
check "config: --baud naming the built-in default still wins over the profile" \
    baud_used 921600
printf 'x' > "$TMP/one.bin"
timeout 60 "$ESPDECK" write-flash -v 0x100000 "$TMP/one.bin" >"$TMP/out" 2>"$TMP/err"
check "config: write-flash takes the config's baud" baud_used 460800
timeout 60 "$ESPDECK" read-flash -v 0 4K "$TMP/rf.bin" >"$TMP/out" 2>"$TMP/err"
check "config: read-flash takes the config's baud" baud_used 460800
timeout 60 "$ESPDECK" info -v >"$TMP/out" 2>"$TMP/err"
check "config: info takes the config's baud" baud_used 460800
timeout 60 "$ESPDECK" info -v -b 230400 >"$TMP/out" 2>"$TMP/err"
check "config: --baud goes before the config's baud in info" baud_used 230400
timeout 120 "$ESPDECK" bench "$TMP/nobaud.yaml" --slot 'sim:esp32?pacing=0' \
    --units 1 --batch -v --records "$TMP/rec.jsonl" >"$TMP/out" 2>"$TMP/err"
check "config: bench takes the config's baud" grep -q "baud rate now 460800" "$TMP/err"
printf 'port: x\nbuad: 1\n' > "$C"
"$ESPDECK" info >/dev/null 2>"$TMP/err"; rc=$?
check "config: an unknown key is one sentence with its place, exit 3" \
    test $rc -eq 3 -a "$(grep -c . "$TMP/err")" -eq 1 -a \
    -n "$(grep "^espdeck: $C:2:1: unknown key 'buad'" "$TMP/err")"
printf 'port: x\n\tbaud: 1\n' > "$C"
"$ESPDECK" erase >/dev/null 2>"$TMP/err"; rc=$?
check "config: a tab says indent with spaces" \
    test $rc -eq 3 -a -n "$(grep "$C:2:1: tabs are not allowed in YAML: indent with spaces" "$TMP/err")"
rm -f "$C"
"$ESPDECK" info >/dev/null 2>"$TMP/err"; rc=$?
check "config: without a config, info still asks for --port" \
    test $rc -eq 2 -a -n "$(grep 'needs --port' "$TMP/err")"
exit 0
