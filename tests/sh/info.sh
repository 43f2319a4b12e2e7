#!/bin/bash
# espdeck info against the simulated board of every chip, over RFC 2217,
# raw TCP (socket://) and in-process (sim:), and with bad input.
source tests/lib.sh

CHIPS="esp32 esp32s2 esp32s3 esp32c2 esp32c3 esp32c6 esp32h2 esp32c5 esp32p4"
declare -A DISPLAY=([esp32]=ESP32 [esp32s2]=ESP32-S2 [esp32s3]=ESP32-S3
    [esp32c2]=ESP32-C2 [esp32c3]=ESP32-C3 [esp32c6]=ESP32-C6
    [esp32h2]=ESP32-H2 [esp32c5]=ESP32-C5 [esp32p4]=ESP32-P4)

# Does this build have the simulator command yet?
have_sim() {
    "$ESPDECK" sim --help >/dev/null 2>&1
}

# json_is FILE KEY VALUE: the JSON object in FILE has KEY == VALUE
json_is() {
    [ "$(jq -r ".$2" "$1" 2>/dev/null)" = "$3" ]
}

# start_sim CHIP SCHEME MAC SIZE [extra...]: sets SIM_URL, SIM_PID
start_sim() {
    local chip=$1 scheme=$2 mac=$3 size=$4 rc
    shift 4
    sim_start --chip "$chip" --listen "$scheme://127.0.0.1:0" --mac "$mac" \
        --flash-size "$size" "$@"
    rc=$?
    SIM_URL="$scheme://127.0.0.1:$SIM_PORT"
    return $rc
}

# check_info NAME CHIP MAC SIZE URL [args...]
check_info() {
    local name=$1 chip=$2 mac=$3 size=$4 url=$5 out=$TMP/$1.json rc
    shift 5
    timeout 60 "$ESPDECK" info --port "$url" --json "$@" >"$out" 2>"$TMP/$name.err"
    rc=$?
    if [ $rc -eq 0 ] && json_is "$out" chip "${DISPLAY[$chip]}" &&
        json_is "$out" mac "$mac" && json_is "$out" flash_size "$size" &&
        jq -e '.flash_id | test("^0x[0-9a-f]{6}$")' "$out" >/dev/null &&
        jq -e '.crystal_mhz | . == 26 or . == 32 or . == 40 or . == 48' \
            "$out" >/dev/null; then
        ok "info $name"
    else
        notok "info $name (rc $rc): $(cat "$out") $(head -3 "$TMP/$name.err")"
    fi
}

if ! have_sim; then
    for c in $CHIPS; do
        skip "info rfc2217 $c: espdeck sim is not in this build yet"
    done
else
    i=0
    for c in $CHIPS; do
        i=$((i + 1))
        mac=$(printf '24:0a:c4:12:34:%02x' $i)
        start_sim "$c" rfc2217 "$mac" 8MB --no-pacing || {
            notok "info rfc2217 $c: the simulator did not listen"; continue; }
        check_info "rfc2217-$c" "$c" "$mac" 8388608 "$SIM_URL"
        sim_stop
    done
    # raw TCP: no modem lines, so no reset (the sim powers up in download)
    start_sim esp32c3 socket 24:0a:c4:00:00:01 2MB --no-pacing &&
        check_info socket-esp32c3 esp32c3 24:0a:c4:00:00:01 2097152 "$SIM_URL"
    sim_stop
    start_sim esp32 socket 24:0a:c4:00:00:02 16MB &&
        check_info socket-esp32-paced esp32 24:0a:c4:00:00:02 16777216 "$SIM_URL"
    sim_stop
fi

# In-process simulator: every chip, default flash size (4 MB).
if ! timeout 60 "$ESPDECK" info --port 'sim:esp32?pacing=0' --after no-reset 2>&1 |
    grep -q 'not available yet'; then
    for c in $CHIPS; do
        out=$TMP/sim-$c.json
        if timeout 60 "$ESPDECK" info --port "sim:$c?pacing=0" --json >"$out" \
            2>"$TMP/sim-$c.err" && json_is "$out" chip "${DISPLAY[$c]}" &&
            json_is "$out" flash_size 4194304 &&
            jq -e '.mac | test("^([0-9a-f]{2}:){5}[0-9a-f]{2}$")' "$out" >/dev/null; then
            ok "info sim:$c"
        else
            notok "info sim:$c: $(cat "$out") $(head -3 "$TMP/sim-$c.err")"
        fi
    done
    # text output names the chip and the flash id bytes
    out=$(timeout 60 "$ESPDECK" info --port 'sim:esp32c3?pacing=0' 2>&1)
    if echo "$out" | grep -q '^Chip: *ESP32-C3' &&
        echo "$out" | grep -qE '^Flash id: *[0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}' &&
        echo "$out" | grep -q '^Flash size: *4 MiB'; then
        ok "info text output"
    else
        notok "info text output: $out"
    fi
else
    for c in $CHIPS; do
        skip "info sim:$c: the in-process simulator is not in this build yet"
    done
fi

# ---- bad input: one sentence, the right exit code, bounded time ----

# expect_fail NAME CODE PATTERN COMMAND...
expect_fail() {
    local name=$1 code=$2 pat=$3 rc lines
    shift 3
    timeout 60 "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    lines=$(wc -l <"$TMP/err")
    if [ $rc -eq "$code" ] && [ "$lines" -eq 1 ] && grep -qiE "$pat" "$TMP/err" &&
        [ ! -s "$TMP/out" ]; then
        ok "info $name"
    else
        notok "info $name: rc $rc (want $code), stderr: $(head -3 "$TMP/err")"
    fi
}

expect_fail "no --port" 2 'needs --port' "$ESPDECK" info
expect_fail "bad --before" 2 'unknown --before' \
    "$ESPDECK" info --port sim:esp32 --before sideways
expect_fail "bad --baud" 2 'baud' "$ESPDECK" info --port sim:esp32 --baud fast
expect_fail "unknown option" 2 'does not take' "$ESPDECK" info --colour
expect_fail "unknown port" 4 'ttyDOESNOTEXIST|not found|no such' \
    "$ESPDECK" info --port /dev/ttyDOESNOTEXIST
expect_fail "not a serial port" 4 'hostname' \
    "$ESPDECK" info --port /etc/hostname
dead=$(free_port)
expect_fail "nobody listening" 4 "127.0.0.1:$dead" \
    "$ESPDECK" info --port "socket://127.0.0.1:$dead"

# --json failures: one object {"error", "exit"} on stdout, the same
# sentence on stderr, the same exit code.
# expect_json_fail NAME CODE PATTERN COMMAND...
expect_json_fail() {
    local name=$1 code=$2 pat=$3 rc
    shift 3
    timeout 60 "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ $rc -eq "$code" ] && [ "$(wc -l <"$TMP/out")" -eq 1 ] &&
        [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
        jq -e --argjson c "$code" --arg p "$pat" \
            '(keys == ["error", "exit"]) and .exit == $c and
             (.error | test($p; "i"))' "$TMP/out" >/dev/null &&
        [ "espdeck: $(jq -r .error "$TMP/out")" = "$(cat "$TMP/err")" ]; then
        ok "info --json $name"
    else
        notok "info --json $name: rc $rc (want $code), stdout: $(head -3 "$TMP/out")" \
            "stderr: $(head -3 "$TMP/err")"
    fi
}
expect_json_fail "nobody listening" 4 "refused.*127.0.0.1:$dead" \
    "$ESPDECK" info --port "socket://127.0.0.1:$dead" --json
expect_json_fail "no --port" 2 'needs --port' "$ESPDECK" info --json
expect_json_fail "bad --before (json first)" 2 "bad reset step 'Z1'" \
    "$ESPDECK" info --json --port sim:esp32 --before 'D0|Z1'
expect_json_fail "not a serial port" 4 'hostname is not a serial port' \
    "$ESPDECK" info --port /etc/hostname --json

if have_sim; then
    start_sim esp32 socket 24:0a:c4:00:00:03 4MB --boot normal --no-pacing
    expect_fail "normal boot, no reset" 4 'booted normally.*boot:0x' \
        "$ESPDECK" info --port "$SIM_URL" --before no-reset
    sim_stop
    # a fresh board: the first one has printed its boot log already
    start_sim esp32 socket 24:0a:c4:00:00:03 4MB --boot normal --no-pacing
    expect_json_fail "normal boot, no reset" 4 'booted normally.*boot:0x' \
        "$ESPDECK" info --port "$SIM_URL" --before no-reset --json
    sim_stop
else
    skip "info normal boot: espdeck sim is not in this build yet"
fi
exit 0
