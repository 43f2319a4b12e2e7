#!/bin/bash
# The simulator's boot chain end to end: flash the real hello-world set
# with `espdeck flash` over RFC 2217, then boot the same flash file (normal
# boot on a raw socket) and read what the board prints: the ROM banner, the
# 2nd-stage log with the partition table, the app start and Hello world.
# Then all nine chips: each shipped profile flashed with --monitor boots.
source tests/lib.sh

export ESPDECK_FIRMWARE=$FW
if [ ! -f "$FW/Hello-world/ESP32/hello_world.bin" ]; then
    skip "sim_boot: shared firmware folder absent ($FW), nothing to boot"
    exit 0
fi

# read_for SECONDS PORT OUT: connect with bash's /dev/tcp and keep what
# arrives for that long.
read_for() {
    exec 3<>"/dev/tcp/127.0.0.1/$2" || return 1
    timeout "$1" cat <&3 > "$3"
    exec 3<&-
    return 0
}

boot_case() {
    local chip=$1 off=$2 ff="$TMP/$1.flash"
    if ! sim_start --chip "$chip" --listen rfc2217://127.0.0.1:0 --flash-file "$ff"; then
        notok "sim_boot $chip: simulator starts: $(cat "$TMP/sim.err")"
        return
    fi
    "$ESPDECK" flash "tests/fixtures/profiles/hw/$chip-hello-world.yaml" --port "rfc2217://127.0.0.1:$SIM_PORT" \
        --batch > "$TMP/$chip-flash.out" 2>&1
    check "sim_boot $chip: espdeck flash writes the hello-world set" test $? -eq 0
    sim_stop
    if ! sim_start --chip "$chip" --listen socket://127.0.0.1:0 --flash-file "$ff" --boot normal; then
        notok "sim_boot $chip: simulator restarts: $(cat "$TMP/sim.err")"
        return
    fi
    read_for 2.6 "$SIM_PORT" "$TMP/$chip-boot.txt"
    sim_stop
    local log="$TMP/$chip-boot.txt"
    check "sim_boot $chip: ROM loads the 2nd stage" grep -q "^entry 0x" "$log"
    check "sim_boot $chip: CR LF line ends" grep -q $'2nd stage bootloader\033\\[0m\r$' "$log"
    check "sim_boot $chip: partition table listed" \
        grep -q ' 2 factory          factory app      00 00 00010000 00100000' "$log"
    check "sim_boot $chip: app loaded from 0x10000" grep -q 'Loaded app from partition at offset 0x10000' "$log"
    check "sim_boot $chip: app descriptor shown" grep -q 'app_init: Project name:     hello_world' "$log"
    local n
    n=$(grep -c '^Hello world!' "$log")
    # Once a second: 3 in 2.6 s when nothing is slow; never a flood.
    check "sim_boot $chip: Hello world! once a second" test "$n" -ge 1 -a "$n" -le 3
    check "sim_boot $chip: flash holds the bootloader at $off" \
        cmp -s <(dd if="$ff" bs=1 skip=$((off)) count=24 2>/dev/null) \
        <(head -c 24 "$FW/Hello-world/$3/bootloader.bin")
}

boot_case esp32 0x1000 ESP32
boot_case esp32c3 0x0 ESP32_C3

# Every shipped hello-world profile flashes its chip and boots: espdeck
# flash --monitor resets the simulated board (unpaced, ~2 s a chip) into
# the app, whose boot log names the project and then says Hello world.
flash_boot_case() {
    local chip=$1 out="$TMP/$1-monitor.out"
    if ! sim_start --chip "$chip" --listen rfc2217://127.0.0.1:0 --no-pacing; then
        notok "sim_boot $chip: unpaced simulator starts: $(cat "$TMP/sim.err")"
        return
    fi
    "$ESPDECK" flash "tests/fixtures/profiles/hw/$chip-hello-world.yaml" --port "rfc2217://127.0.0.1:$SIM_PORT" \
        --batch --monitor 1.5 > "$out" 2>&1
    local rc=$?
    sim_stop
    check "sim_boot $chip: flash --monitor exits 0" test $rc -eq 0
    if grep -q 'Project name:     hello_world' "$out"; then
        ok "sim_boot $chip: the shipped profile boots (Project name: hello_world)"
    else
        notok "sim_boot $chip: the shipped profile boots: $(grep -m2 -E 'E \(|rev' "$out" | tr -d '\033' | tr '\r\n' '  ')"
    fi
    check "sim_boot $chip: the app prints Hello world!" grep -q '^Hello world!' "$out"
    check "sim_boot $chip: no boot error" test -z "$(grep -E 'E \([0-9]+\) (boot|boot_comm)' "$out")"
}

for chip in esp32 esp32s2 esp32s3 esp32c2 esp32c3 esp32c6 esp32h2 esp32c5 esp32p4; do
    flash_boot_case "$chip"
done

# The C5's image was built for v0.x parts: a production v1.0 board refuses
# it in the 2nd stage, as real silicon does (the default C5 is a v0.1).
if sim_start --chip esp32c5 --listen rfc2217://127.0.0.1:0 --no-pacing --chip-rev 1.0; then
    "$ESPDECK" flash tests/fixtures/profiles/hw/esp32c5-hello-world.yaml --port "rfc2217://127.0.0.1:$SIM_PORT" \
        --batch --monitor 1.5 > "$TMP/c5-v1.out" 2>&1
    sim_stop
    check "sim_boot esp32c5 v1.0: the bootloader refuses an image for v0.x" \
        grep -q 'boot_comm: Image requires chip rev <= v0.99, but chip is v1.0' "$TMP/c5-v1.out"
    check "sim_boot esp32c5 v1.0: so the app never starts" \
        test -z "$(grep '^Hello world!' "$TMP/c5-v1.out")"
else
    notok "sim_boot esp32c5 v1.0: simulator starts: $(cat "$TMP/sim.err")"
fi

# Blank flash: the ROM repeats "invalid header" (a boot loop).
if sim_start --chip esp32 --listen socket://127.0.0.1:0 --boot normal --no-pacing; then
    read_for 1.2 "$SIM_PORT" "$TMP/blank.txt"
    sim_stop
    n=$(grep -c '^invalid header: 0xffffffff' "$TMP/blank.txt")
    check "sim_boot: blank flash loops on invalid header" test "$n" -ge 2
else
    notok "sim_boot: blank board starts"
fi
exit 0
