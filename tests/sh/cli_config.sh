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
