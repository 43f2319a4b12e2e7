# Sector-delta writes read back by esptool-js 0.7.0 (a client nobody here
# wrote): espdeck flashes the ESP32-C3 hello-world set, then a copy of the
# app with three scattered sectors changed (only those are written), and
# esptool-js readFlash (its MD5 checked) must read back exactly the
# changed set.  The simulator keeps its flash in a file and is restarted
# between the tools (no reset lines over raw TCP).
source tests/lib.sh
source tests/interop/lib.sh

t="interop_delta esp32c3"
chip=esp32c3
iop_npm || { skip "$t: $IOP_WHY"; exit 0; }
for c in sim flash; do iop_has $c || { skip "$t: $IOP_WHY"; exit 0; }; done
dir=$(iop_fwdir "$chip")
boot=$(iop_boot_offset "$chip")
[ -f "$dir/hello_world.bin" ] || { skip "$t: no hello-world set in $dir"; exit 0; }

# the next build: 16 bytes edited in sectors 3, 11 and 25 of the app
cp "$dir/hello_world.bin" "$TMP/app2.bin"
for off in $((3 * 4096 + 100)) $((11 * 4096 + 7)) $((25 * 4096 + 50)); do
    printf '\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a' |
        dd of="$TMP/app2.bin" bs=1 seek="$off" conv=notrunc status=none
done
for v in 1 2; do
    app=$dir/hello_world.bin
    [ $v = 2 ] && app=$TMP/app2.bin
    cat > "$TMP/p$v.yaml" <<EOF
name: interop delta $chip
chip: $chip
baud: 921600
flash: {mode: keep, freq: keep, size: keep}
partition_table:
  offset: 0x8000
  file: $dir/partition-table.bin
images:
  - {name: bootloader, offset: $boot, file: $dir/bootloader.bin}
  - {partition: factory, file: $app}
EOF
done

ff=$TMP/flash.bin
run_sim() {
    port=$(free_port)
    iop_sim_start "$chip" "$port" "$TMP/sim$1.log" --no-pacing \
        --flash-file "$ff"
}
flash() {
    run_sim "$1" || return 1
    timeout 120 "$ESPDECK" flash "$TMP/p$1.yaml" \
        --port "socket://127.0.0.1:$port" --batch > "$TMP/fl$1.log" 2>&1
    local rc=$?
    iop_sim_stop
    return $rc
}

if ! flash 1; then
    notok "$t: first flash failed: $(tail -1 "$TMP/fl1.log")"
    exit 1
fi
if ! flash 2; then
    notok "$t: delta flash failed: $(tail -3 "$TMP/fl2.log" | tr '\n' ' ')"
    exit 1
fi
check "$t: only the three changed sectors are written" \
    grep -qx 'Only changed sectors of factory: 3 changed runs, 12.0 KiB written' \
    "$TMP/fl2.log"
check "$t: bootloader and table unchanged" \
    test "$(grep -c '^Skipped ' "$TMP/fl2.log")" -eq 2

app_n=$(stat -c %s "$TMP/app2.bin")
out=$TMP/read
if ! run_sim 3; then
    notok "$t: restarting the simulator: $IOP_WHY"
elif ! iop_js "$out" --port "127.0.0.1:$port" --baud 921600 read \
    0x10000 "$app_n" "$TMP/dump"; then
    notok "$t: esptool-js readFlash failed: $(iop_error "$out")"
    iop_sim_stop
else
    iop_sim_stop
    check "$t: esptool-js reads back the changed app (MD5 checked), identical" \
        cmp -s "$TMP/dump" "$TMP/app2.bin"
fi
