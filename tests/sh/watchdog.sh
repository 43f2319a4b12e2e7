#!/bin/bash
# --after watchdog-reset end to end: espdeck flash writes the hello-world
# set to the in-process simulated board, arms the RTC/LP watchdog through
# WRITE_REG (key 0x50D83AA1, CONFIG1, CONFIG0) and monitors: the chip
# resets into a normal boot with the watchdog's reset reason in the ROM
# banner, and the app says Hello world.  The ESP32 has no such reset.
source tests/lib.sh

export ESPDECK_FIRMWARE=$FW
if [ ! -f "$FW/Hello-world/ESP32_C3/hello_world.bin" ]; then
    skip "watchdog: shared firmware folder absent ($FW), nothing to boot"
    exit 0
fi

wdt_case() {
    local chip=$1 why=$2 out="$TMP/$1.out"
    "$ESPDECK" flash "tests/fixtures/profiles/hw/$chip-hello-world.yaml" --port "sim:$chip" \
        --batch --after watchdog-reset --monitor 4 > "$out" 2>&1
    check "watchdog $chip: flash and monitor succeed" test $? -eq 0
    check "watchdog $chip: the banner says $why" grep -qF "$why" "$out"
    check "watchdog $chip: normal boot into the app" grep -q '^Hello world!' "$out"
    check "watchdog $chip: no download-mode banner after the reset" \
        bash -c "! sed -n '/$why/,\$p' '$out' | grep -q 'waiting for download'"
}

wdt_case esp32c3 'rst:0x10 (RTCWDT_RTC_RST)'
wdt_case esp32s3 'rst:0x10 (RTCWDT_RTC_RST)'
wdt_case esp32p4 'rst:0x10 (LP_WDT_SYS)'

"$ESPDECK" flash tests/fixtures/profiles/hw/esp32-hello-world.yaml --port "sim:esp32?pacing=0" \
    --batch --after watchdog-reset > "$TMP/esp32.out" 2>&1
check "watchdog esp32: flashing still succeeds" test $? -eq 0
check "watchdog esp32: says the reset is not available" \
    grep -q 'watchdog reset is not available on ESP32' "$TMP/esp32.out"
