# Flashing interop with esptool-js 0.7.0 (a client nobody here wrote), on
# the simulator with a flash file (its state survives restarts):
#   js->espdeck: esptool-js writes the real hello-world set (compressed,
#                MD5 verified by esptool-js), espdeck read-flash reads it
#                back, compared byte for byte with the files;
#   espdeck->js: espdeck flashes the same set from a profile, esptool-js
#                readFlash reads it back (its MD5 checked), compared.
# The simulator is restarted between the two tools: over raw TCP there are
# no reset lines, and a running stub answers SYNC once, which esptool-js
# cannot connect to (it needs 8 replies).
#
# IOP_FLASH_CHIPS picks chips (default: all).
source tests/lib.sh
source tests/interop/lib.sh

name=interop_flash
chips=${IOP_FLASH_CHIPS:-$IOP_CHIPS}

skip_all() {
    for c in $chips; do
        skip "$name $c js->espdeck: $1"
        skip "$name $c espdeck->js: $1"
    done
    exit 0
}
iop_npm || skip_all "$IOP_WHY"
iop_has sim || skip_all "$IOP_WHY"
[ -d "$FW/Hello-world" ] || skip_all "no firmware folder $FW/Hello-world"

# The espdeck profile for a chip's hello-world set (the table given as a
# binary, flash parameters kept, so the bytes written are the files').
write_profile() {
    local chip=$1 dir=$2 boot=$3 file=$4
    cat > "$file" <<EOF
name: interop hello world $chip
chip: $chip
baud: 921600
flash: {mode: keep, freq: keep, size: keep}
partition_table:
  offset: 0x8000
  file: $dir/partition-table.bin
images:
  - {name: bootloader, offset: $boot, file: $dir/bootloader.bin}
  - {partition: factory, file: $dir/hello_world.bin}
EOF
}

# compare_set DUMP BASE CHIPDIR BOOTOFF: DUMP holds flash from BASE on;
# prints what differs, returns non-zero if anything does.
compare_set() {
    local dump=$1 base=$2 dir=$3 boot=$4 bad=0 f off n
    for f in bootloader.bin:$boot partition-table.bin:0x8000 \
             hello_world.bin:0x10000; do
        off=$(( ${f#*:} - base ))
        n=$(stat -c %s "$dir/${f%%:*}")
        if ! cmp -s <(tail -c +$((off + 1)) "$dump" | head -c "$n") \
                    "$dir/${f%%:*}"; then
            echo "${f%%:*} at ${f#*:} differs" \
                "($(cmp <(tail -c +$((off + 1)) "$dump" | head -c "$n") \
                    "$dir/${f%%:*}" 2>&1 | head -1 | sed 's/.*differ: //'))"
            bad=1
        fi
    done
    return $bad
}

for chip in $chips; do
    dir=$(iop_fwdir "$chip")
    boot=$(iop_boot_offset "$chip")
    if [ ! -f "$dir/hello_world.bin" ]; then
        skip "$name $chip js->espdeck: no hello-world set in $dir"
        skip "$name $chip espdeck->js: no hello-world set in $dir"
        continue
    fi
    app_n=$(stat -c %s "$dir/hello_world.bin")
    span=$(( 0x10000 + app_n - boot ))

    # ---- esptool-js writes, espdeck reads back ----
    t="$name $chip js->espdeck"
    ff=$TMP/$chip.js.flash
    out=$TMP/$chip.write
    port=$(free_port)
    if ! iop_sim_start "$chip" "$port" "$TMP/$chip.sim1.log" --no-pacing \
        --flash-file "$ff"; then
        notok "$t: $IOP_WHY"
    elif ! iop_js "$out" --port "127.0.0.1:$port" --baud 921600 write \
        "$boot=$dir/bootloader.bin" "0x8000=$dir/partition-table.bin" \
        "0x10000=$dir/hello_world.bin"; then
        notok "$t: esptool-js writeFlash failed: $(iop_error "$out")"
        tail -30 "$out.log" >&2
        iop_sim_stop
    elif [ "$(iop_field "$out" verified)" != 3 ]; then
        notok "$t: esptool-js verified $(iop_field "$out" verified) of 3 images"
        iop_sim_stop
    else
        iop_sim_stop
        if ! iop_has read-flash; then
            skip "$t: esptool-js wrote and verified 3 images; $IOP_WHY"
        elif ! iop_sim_start "$chip" "$port" "$TMP/$chip.sim2.log" \
            --no-pacing --flash-file "$ff"; then
            notok "$t: restarting the simulator on its flash file: $IOP_WHY"
        elif ! timeout 120 "$ESPDECK" read-flash \
            --port "socket://127.0.0.1:$port" "$boot" "$span" \
            "$TMP/$chip.dump1" > "$TMP/$chip.rf.log" 2>&1; then
            notok "$t: espdeck read-flash failed: $(tail -1 "$TMP/$chip.rf.log")"
            tail -20 "$TMP/$chip.rf.log" >&2
            iop_sim_stop
        else
            iop_sim_stop
            if diff=$(compare_set "$TMP/$chip.dump1" "$boot" "$dir" "$boot")
            then
                ok "$t: 3 images written by esptool-js, read back by espdeck, identical"
            else
                notok "$t: $(echo "$diff" | tr '\n' ';')"
            fi
        fi
    fi

    # ---- espdeck flashes, esptool-js reads back ----
    t="$name $chip espdeck->js"
    ff=$TMP/$chip.ed.flash
    out=$TMP/$chip.read
    prof=$TMP/$chip.yaml
    write_profile "$chip" "$dir" "$boot" "$prof"
    port=$(free_port)
    if ! iop_has flash; then
        skip "$t: $IOP_WHY"
    elif ! iop_sim_start "$chip" "$port" "$TMP/$chip.sim3.log" --no-pacing \
        --flash-file "$ff"; then
        notok "$t: $IOP_WHY"
    elif ! timeout 120 "$ESPDECK" flash "$prof" \
        --port "socket://127.0.0.1:$port" --batch \
        > "$TMP/$chip.fl.log" 2>&1; then
        notok "$t: espdeck flash failed: $(tail -1 "$TMP/$chip.fl.log")"
        tail -20 "$TMP/$chip.fl.log" >&2
        iop_sim_stop
    else
        iop_sim_stop
        if ! iop_sim_start "$chip" "$port" "$TMP/$chip.sim4.log" \
            --no-pacing --flash-file "$ff"; then
            notok "$t: restarting the simulator on its flash file: $IOP_WHY"
        elif ! iop_js "$out" --port "127.0.0.1:$port" --baud 921600 read \
            "$boot" "$span" "$TMP/$chip.dump2"; then
            notok "$t: esptool-js readFlash failed: $(iop_error "$out")"
            tail -30 "$out.log" >&2
            iop_sim_stop
        else
            iop_sim_stop
            if diff=$(compare_set "$TMP/$chip.dump2" "$boot" "$dir" "$boot")
            then
                ok "$t: 3 images flashed by espdeck, read back by esptool-js (MD5 checked), identical"
            else
                notok "$t: $(echo "$diff" | tr '\n' ';')"
            fi
        fi
    fi
done
