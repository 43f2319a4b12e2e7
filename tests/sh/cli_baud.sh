#!/bin/bash
# --baud is checked before the board is touched (issue 10: 12345678 was
# accepted and failed after connecting), and timeouts scale with the baud
# (9600 baud failed mid-job on a 3 s timeout).
source tests/lib.sh
silent_start
for cmd in "flash tests/fixtures/profiles/sim-board.yaml --batch" "write-flash 0x10000 $ESPDECK" \
           "read-flash 0 4K $TMP/x.bin" "erase" "info"; do
    name=${cmd%% *}
    timeout 20 "$ESPDECK" $cmd -p "socket://127.0.0.1:$SILENT_PORT" -b 12345678 >/dev/null 2>"$TMP/err"
    rc=$?
    if [ $rc -eq 2 ] && [ "$(grep -c . "$TMP/err")" -eq 1 ] &&
        grep -q -- "--baud 12345678 is more than an ESP chip's UART can do .*use 9600 to 5000000" "$TMP/err" &&
        ! grep -q Connecting "$TMP/err"; then
        ok "baud: $name refuses --baud 12345678 before connecting"
    else
        notok "baud: $name refuses --baud 12345678 before connecting: rc $rc: $(cat "$TMP/err")"
    fi
done
timeout 20 "$ESPDECK" erase -p "socket://127.0.0.1:$SILENT_PORT" -b 4800 >/dev/null 2>"$TMP/err"
check "baud: 4800 is too slow, said before connecting" \
    test $? -eq 2 -a -n "$(grep -- '--baud 4800 is too slow to flash with: use 9600 to 5000000' "$TMP/err")"
printf 'chip: esp32\nbaud: 9000000\n' > "$TMP/b.yaml"
"$ESPDECK" check "$TMP/b.yaml" >/dev/null 2>"$TMP/err"
check "baud: a profile's baud is checked the same way" \
    test $? -eq 3 -a -n "$(grep "b.yaml:2:7: error: baud 9000000 is more than" "$TMP/err")"

# A 4 KiB READ_FLASH packet takes 4.3 s at 9600 baud on the paced
# simulator: longer than the 3 s a fixed timeout allowed.
timeout 60 "$ESPDECK" read-flash -p sim:esp32 -b 9600 0x1000 4K "$TMP/r.bin" >/dev/null 2>"$TMP/err"
rc=$?
check "baud: a read at 9600 baud waits for the wire (timeouts scale)" \
    test $rc -eq 0 -a "$(stat -c %s "$TMP/r.bin" 2>/dev/null)" = 4096
# and a write: 6 KiB that do not compress, one block, 6.4 s on the wire
head -c 6144 /dev/urandom > "$TMP/rand.bin"
timeout 90 "$ESPDECK" write-flash -p sim:esp32 -b 9600 0x100000 "$TMP/rand.bin" >"$TMP/out" 2>"$TMP/err"
rc=$?
check "baud: a write at 9600 baud waits for the wire (timeouts scale)" \
    test $rc -eq 0 -a -n "$(grep -x 'Hash of data verified.' "$TMP/out")"
exit 0
