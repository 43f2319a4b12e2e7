#!/bin/bash
# --before with an esptool-style custom sequence, in every command that
# resets the board: info, flash --batch, read-flash, erase, the console's
# option check.  A classic sequence connects; one that never pulls IO0 low
# boots the app and says so; a malformed one names its bad step (exit 2).
source tests/lib.sh

CLASSIC='D0|R1|W0.1|D1|R0|W0.05|D0'
SLOW='D0|R1|W0.1|D1|R0|W0.2|D0'   # classic, but not one of the plan's
NOBOOT='R1|W0.1|R0'                  # reset only: the app boots
SIM='sim:esp32?pacing=0'

# want NAME RC PATTERN: the last command exited RC, its stderr matches
want() {
    if [ "$RC" -eq "$2" ] && grep -qE -- "$3" "$TMP/err"; then
        ok "cli --before $1"
    else
        notok "cli --before $1: rc $RC (want $2): $(head -3 "$TMP/err")"
    fi
}
run_cmd() {
    timeout 60 "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
}

# ---- info over the in-process board and over RFC 2217 to espdeck sim ----
info_cases() {
    local where=$1 url=$2
    run_cmd "$ESPDECK" info --port "$url" --before "$CLASSIC" --json
    if [ $RC -eq 0 ] && jq -e '.chip == "ESP32" and .reset == "classic 50 ms"' \
        "$TMP/out" >/dev/null; then
        ok "cli --before classic sequence connects ($where)"
    else
        notok "cli --before classic sequence connects ($where): rc $RC" \
            "$(cat "$TMP/out") $(head -3 "$TMP/err")"
    fi
    run_cmd "$ESPDECK" info --port "$url" --before "$SLOW" --json
    if [ $RC -eq 0 ] && jq -e '.reset == "custom"' "$TMP/out" >/dev/null; then
        ok "cli --before other sequence is used as given ($where)"
    else
        notok "cli --before other sequence is used as given ($where): rc $RC" \
            "$(cat "$TMP/out") $(head -3 "$TMP/err")"
    fi
    run_cmd "$ESPDECK" info --port "$url" --before "$NOBOOT"
    want "without IO0 low boots the app ($where)" 4 \
        'board booted normally, not in download mode'
    [ "$(wc -l <"$TMP/err")" -eq 1 ] ||
        notok "cli --before booted normally is one sentence ($where)"
}

info_cases sim "$SIM"
if sim_start --chip esp32 --listen rfc2217://127.0.0.1:0 --no-pacing; then
    info_cases rfc2217 "rfc2217://127.0.0.1:$SIM_PORT"
    sim_stop
else
    notok "cli --before rfc2217: the simulator did not listen: $(cat "$TMP/sim.err")"
fi

# ---- flash --batch, read-flash, erase ----
run_cmd "$ESPDECK" flash tests/fixtures/profiles/sim-board.yaml --port "$SIM" --batch \
    --before "$SLOW" -v
if [ $RC -eq 0 ] && grep -q '^Done!' "$TMP/out" &&
    grep -q 'reset: custom' "$TMP/err"; then
    ok "cli --before sequence in flash --batch"
else
    notok "cli --before sequence in flash --batch: rc $RC: $(tail -3 "$TMP/err")"
fi
run_cmd "$ESPDECK" flash tests/fixtures/profiles/sim-board.yaml --port "$SIM" --batch \
    --before "$NOBOOT"
want "flash --batch without IO0 low" 4 'board booted normally'
run_cmd "$ESPDECK" read-flash --port "$SIM" --before "$CLASSIC" 0x1000 4K \
    "$TMP/r.bin"
if [ $RC -eq 0 ] && [ "$(stat -c %s "$TMP/r.bin" 2>/dev/null)" = 4096 ]; then
    ok "cli --before sequence in read-flash"
else
    notok "cli --before sequence in read-flash: rc $RC: $(head -3 "$TMP/err")"
fi
run_cmd "$ESPDECK" erase --port "$SIM" --before "$NOBOOT" 0 4K
want "erase without IO0 low" 4 'board booted normally'

# ---- malformed: one sentence naming the bad step, exit 2 ----
for cmd in "info --port $SIM" "flash tests/fixtures/profiles/sim-board.yaml --port $SIM --batch" \
    "read-flash --port $SIM 0 4K $TMP/x.bin" "erase --port $SIM" \
    "tests/fixtures/profiles/sim-board.yaml --port $SIM"; do
    # shellcheck disable=SC2086
    run_cmd "$ESPDECK" $cmd --before 'D0|R1|X9|D0'
    name=${cmd%% *}
    [ "$name" = tests/fixtures/profiles/sim-board.yaml ] && name=console
    if [ $RC -eq 2 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
        grep -q "bad reset step 'X9' in 'D0|R1|X9|D0'" "$TMP/err" &&
        [ ! -s "$TMP/out" ]; then
        ok "cli --before malformed sequence ($name)"
    else
        notok "cli --before malformed sequence ($name): rc $RC: $(head -3 "$TMP/err")"
    fi
    run_cmd "$ESPDECK" $cmd --before sideways
    want "unknown mode ($name)" 2 "unknown --before mode 'sideways'.*D0\|R1"
done
[ ! -e "$TMP/x.bin" ] || notok "cli --before read-flash left a file behind"
exit 0
