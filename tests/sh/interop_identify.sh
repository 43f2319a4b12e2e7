# esptool-js 0.7.0 (a client nobody here wrote) identifies every simulated
# chip: chip name, the MAC given to the simulator, flash id and size.
# One line per chip.  Half the chips run at 921600 (CHANGE_BAUDRATE after
# the stub), half at 115200; flash sizes vary so the size check can fail.
source tests/lib.sh
source tests/interop/lib.sh

name=interop_identify
if ! iop_npm; then
    for c in $IOP_CHIPS; do skip "$name $c: $IOP_WHY"; done
    exit 0
fi
if ! iop_has sim; then
    for c in $IOP_CHIPS; do skip "$name $c: $IOP_WHY"; done
    exit 0
fi

sizes="4MB 8MB 16MB 2MB"
i=0
for chip in $IOP_CHIPS; do
    i=$((i + 1))
    set -- $sizes
    shift $(( (i - 1) % 4 ))
    size=$1
    if [ $((i % 2)) = 1 ]; then baud=921600; else baud=115200; fi
    mac=$(printf '24:0a:c4:%02x:%02x:%02x' $((0x40 + i)) $((i * 17)) $((0xa0 + i)))
    port=$(free_port)
    out=$TMP/$chip.out
    if ! iop_sim_start "$chip" "$port" "$TMP/$chip.sim.log" --no-pacing \
        --mac "$mac" --flash-size "$size"; then
        notok "$name $chip: $IOP_WHY"
        continue
    fi
    if ! iop_js "$out" --port "127.0.0.1:$port" --baud "$baud" identify; then
        notok "$name $chip: esptool-js failed at $baud baud: $(iop_error "$out")"
        echo "--- $chip esptool-js log" >&2; tail -30 "$out.log" >&2
        iop_sim_stop
        continue
    fi
    iop_sim_stop
    want_chip=$(iop_chip_name "$chip")
    got_chip=$(iop_field "$out" chip)
    got_mac=$(iop_field "$out" mac)
    got_id=$(iop_field "$out" flash_id)
    got_size=$(iop_field "$out" flash_size)
    got_stub=$(iop_field "$out" stub)
    why=""
    [ "$got_chip" = "$want_chip" ] || why="$why chip '$got_chip' (want $want_chip);"
    [ "$got_mac" = "$mac" ] || why="$why MAC '$got_mac' (want $mac);"
    [ "$got_size" = "$size" ] || why="$why flash size '$got_size' from id $got_id (want $size);"
    case $got_id in
    0x??????) m=${got_id#0x????}
        [ "$m" != 00 ] && [ "$m" != ff ] || why="$why flash id $got_id has no manufacturer;" ;;
    *) why="$why no flash id;" ;;
    esac
    [ "$got_stub" = true ] || why="$why stub not running;"
    if [ -z "$why" ]; then
        ok "$name $chip: $got_chip, MAC $got_mac, flash id $got_id ($got_size), $baud baud"
    else
        notok "$name $chip:$why"
        echo "--- $chip esptool-js log" >&2; tail -30 "$out.log" >&2
    fi
done

# Three more: on the paced simulator (the ROM banner at power-up, SYNC at
# 115200, the stub upload and CHANGE_BAUDRATE to 921600 timed as on a wire,
# where a mismatched baud turns both directions into garbage), and over
# RFC 2217, where esptool-js's own classic reset (DTR/RTS) must put the
# board into download mode: with modem lines the board does not start in
# download mode by itself.
n=0
for case in "esp32c3 socket no_reset paced" \
            "esp32 rfc2217 default_reset --no-pacing" \
            "esp32c3 rfc2217 default_reset paced"; do
    set -- $case
    chip=$1 scheme=$2 before=$3 pacing=$4
    n=$((n + 1))
    mac=$(printf '24:0a:c4:00:be:%02x' $n)
    tag="$name $chip $scheme $before ${pacing#--}"
    [ "$pacing" = paced ] && pacing=""
    port=$(free_port)
    out=$TMP/extra$n.out
    if ! IOP_SCHEME=$scheme iop_sim_start "$chip" "$port" \
        "$TMP/extra$n.sim.log" --mac "$mac" $pacing; then
        notok "$tag: $IOP_WHY"
        continue
    fi
    if ! iop_js "$out" --port "$scheme://127.0.0.1:$port" --before "$before" \
        --baud 921600 identify; then
        notok "$tag: esptool-js failed: $(iop_error "$out")"
        tail -30 "$out.log" >&2
        iop_sim_stop
        continue
    fi
    iop_sim_stop
    want="$(iop_chip_name "$chip") $mac 4MB true"
    got="$(iop_field "$out" chip) $(iop_field "$out" mac) $(iop_field "$out" flash_size) $(iop_field "$out" stub)"
    sig=$(iop_field "$out" signals)
    if [ "$got" != "$want" ]; then
        notok "$tag: got '$got', want '$want'"
    elif [ "$scheme" = rfc2217 ] && [ "${sig:-0}" -lt 3 ]; then
        notok "$tag: esptool-js set the modem lines $sig times, not 3"
    else
        ok "$tag: $got, reset lines set $sig times"
    fi
done
