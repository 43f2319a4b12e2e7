# espdeck check on the shipped profiles and the bad fixtures; profile
# import round trip (import -> check -> the job's images equal the build's).
source tests/lib.sh

have_fw=1
[ -d "$FW/Hello-world" ] || have_fw=0
export ESPDECK_FIRMWARE=$(cd "$FW" 2>/dev/null && pwd)

# Shipped profiles: exit 0 and a one-line summary.
for p in profiles/*.yaml; do
    n=$(basename "$p" .yaml)
    if [ $have_fw = 0 ]; then
        skip "check $n: $FW is absent (the profiles flash its images)"
        continue
    fi
    if [ "$n" = demo ] && [ ! -f build/demo/bootloader.bin ]; then
        # demo.yaml flashes images `espdeck demo` writes to build/demo/
        skip "check demo: build/demo/ has no images yet (espdeck demo makes them)"
        continue
    fi
    case $n in
    *-hello-world) # idf_build: a build folder of the shared images
        export ESPDECK_IDF_BUILD=$(fake_idf_build "${n%-hello-world}") ;;
    esac
    out=$("$ESPDECK" check "$p" 2>&1); rc=$?
    unset ESPDECK_IDF_BUILD
    if [ $rc = 0 ] && echo "$out" | grep -q "^$p: ok .* images*, .* to write$"; then
        ok "check $n"
    else
        notok "check $n (exit $rc): $out"
    fi
done

# The shipped hardware profiles read a real ESP-IDF build folder (idf_build)
# at load time: the v4.4 ESP32 build, its ELF found for panic decoding.
B44=$(cd "$SHARED/firmware/idf-build/esp32-hello-world-v4.4" 2>/dev/null && pwd)
if [ -n "$B44" ]; then
    out=$(ESPDECK_IDF_BUILD=$B44 "$ESPDECK" profile show profiles/esp32-hello-world.yaml 2>&1); rc=$?
    if [ $rc = 0 ] && echo "$out" | grep -q "factory .* $B44/hello_world.bin (169264 bytes)$" &&
        echo "$out" | grep -q "flash dio 40m detect"; then
        ok "check idf_build: the v4.4 build's images and flash settings"
    else
        notok "check idf_build: the v4.4 build's images and flash settings: $out"
    fi
else
    skip "check idf_build: no v4.4 build in $SHARED"
fi
out=$(ESPDECK_IDF_BUILD=$TMP/nobuild "$ESPDECK" check profiles/esp32c3-hello-world.yaml 2>&1); rc=$?
if [ $rc = 3 ] && [ "$(echo "$out" | grep -c error:)" = 1 ] &&
    echo "$out" | grep -q ":14:12: error: the ESP-IDF build folder $TMP/nobuild does not exist: build your project there (idf.py build), or set ESPDECK_IDF_BUILD to your project's build folder$"; then
    ok "check idf_build: a missing build folder is one clear sentence"
else
    notok "check idf_build: a missing build folder is one clear sentence: $out"
fi
if [ $have_fw = 1 ]; then
    out=$(ESPDECK_IDF_BUILD=$(fake_idf_build esp32) "$ESPDECK" check profiles/esp32c3-hello-world.yaml 2>&1); rc=$?
    if [ $rc = 3 ] && [ "$(echo "$out" | grep -c error:)" = 1 ] &&
        echo "$out" | grep -q "is for ESP32, but the profile's chip is esp32c3: build for esp32c3 (idf.py set-target esp32c3)"; then
        ok "check idf_build: a build for another chip is one error"
    else
        notok "check idf_build: a build for another chip is one error: $out"
    fi
fi

# Bad fixtures: exit 3 and the error at the line:col the file's first line names.
for f in tests/fixtures/profiles/bad-*.yaml; do
    n=$(basename "$f" .yaml)
    if [ $have_fw = 0 ] && grep -q ESPDECK_FIRMWARE "$f"; then
        skip "check $n: $FW is absent"
        continue
    fi
    where=$(head -1 "$f" | sed 's/^# \([0-9]*:[0-9]*\) .*/\1/')
    msg=$(head -1 "$f" | sed 's/^# [0-9]*:[0-9]* //')
    out=$("$ESPDECK" check "$f" 2>&1); rc=$?
    if [ $rc = 3 ] && echo "$out" | grep -qF "$f:$where: error: " &&
       echo "$out" | grep -qF -- "$msg"; then
        ok "check $n fails at $where"
    else
        notok "check $n: exit $rc, wanted 3 and $where: $msg; got: $out"
    fi
done

# Warnings alone still pass.
if [ $have_fw = 1 ]; then
    out=$("$ESPDECK" check tests/fixtures/profiles/warn-bootloader-offset.yaml 2>&1); rc=$?
    if [ $rc = 0 ] && echo "$out" | grep -q ":6:13: warning: " &&
       echo "$out" | grep -q "ok (1 warning)"; then
        ok "check warning only exits 0"
    else
        notok "check warning only: exit $rc: $out"
    fi
fi

# Usage errors.
"$ESPDECK" check >/dev/null 2>&1; rc=$?
check "check without a profile exits 2" [ $rc = 2 ]
"$ESPDECK" check tests/fixtures/profiles/none.yaml >/dev/null 2>&1; rc=$?
check "check a missing profile exits 3" [ $rc = 3 ]

# Import round trip, on a build directory made in $TMP from the real images.
if [ $have_fw = 0 ]; then
    skip "profile import: $FW is absent"
    exit 0
fi
for chip in ESP32:esp32:0x1000 ESP32_C3:esp32c3:0x0 ESP32_P4:esp32p4:0x2000; do
    dir=${chip%%:*}; rest=${chip#*:}; name=${rest%%:*}; boot=${rest#*:}
    b=$TMP/build-$name
    mkdir -p "$b/bootloader" "$b/partition_table"
    cp "$FW/Hello-world/$dir/bootloader.bin" "$b/bootloader/"
    cp "$FW/Hello-world/$dir/partition-table.bin" "$b/partition_table/"
    cp "$FW/Hello-world/$dir/hello_world.bin" "$b/"
    cat > "$b/flasher_args.json" <<EOF
{
    "write_flash_args" : [ "--flash_mode", "dio", "--flash_size", "2MB", "--flash_freq", "40m" ],
    "flash_settings" : { "flash_mode": "dio", "flash_size": "2MB", "flash_freq": "keep" },
    "flash_files" : {
        "$boot" : "bootloader/bootloader.bin",
        "0x10000" : "hello_world.bin",
        "0x8000" : "partition_table/partition-table.bin"
    },
    "bootloader" : { "offset" : "$boot", "file" : "bootloader/bootloader.bin", "encrypted" : "false" },
    "app" : { "offset" : "0x10000", "file" : "hello_world.bin", "encrypted" : "false" },
    "partition-table" : { "offset" : "0x8000", "file" : "partition_table/partition-table.bin", "encrypted" : "false" },
    "extra_esptool_args" : { "after" : "hard_reset", "before" : "default_reset", "stub" : true, "chip" : "$name" }
}
EOF
    mkdir -p "$TMP/profiles"
    prof=$TMP/profiles/$name.yaml
    out=$("$ESPDECK" profile import "$b" -o "$prof" 2>&1); rc=$?
    if [ $rc = 0 ] && grep -q '^chip: '"$name"'$' "$prof" &&
       grep -q 'image: "../build-'"$name"'/hello_world.bin"' "$prof" &&
       grep -q 'reset: {before: default-reset, after: hard-reset}' "$prof"; then
        ok "import $name writes a profile with relative paths"
    else
        notok "import $name: exit $rc: $out; $(cat "$prof" 2>/dev/null)"
        continue
    fi
    check "import $name checks" "$ESPDECK" check -q "$prof"
    d=$TMP/dump-$name
    "$ESPDECK" profile dump "$prof" "$d" >/dev/null 2>&1
    if cmp -s "$d/$boot-bootloader.bin" "$b/bootloader/bootloader.bin" &&
       cmp -s "$d/0x8000-partition-table.bin" "$b/partition_table/partition-table.bin" &&
       cmp -s "$d/0x10000-factory.bin" "$b/hello_world.bin" &&
       [ "$(ls "$d" | wc -l)" = 3 ]; then
        ok "import $name: the job's images equal the build's files"
    else
        notok "import $name: dumped images differ: $(ls -l "$d" 2>&1)"
    fi
done

# An edit to the imported layout regenerates the table (and is checked).
prof=$TMP/profiles/esp32.yaml
sed 's/subtype: phy, offset: 0xf000, size: 4K/subtype: phy, offset: 0xf000, size: 8K/' "$prof" > "$TMP/profiles/edited.yaml"
out=$("$ESPDECK" check "$TMP/profiles/edited.yaml" 2>&1); rc=$?
if [ $rc = 3 ] && echo "$out" | grep -q "overlaps"; then
    ok "edited import: a grown partition overlapping the app is caught"
else
    notok "edited import: exit $rc: $out"
fi

# `profile import BUILD > FILE` saved in another folder still finds its
# images: standard output gets absolute paths.
if [ -n "$B44" ]; then
    mkdir -p "$TMP/elsewhere/deeper"
    (cd "$TMP/elsewhere" && "$ESPDECK" profile import "$B44" > deeper/p.yaml 2>"$TMP/imp.err")
    out=$("$ESPDECK" check "$TMP/elsewhere/deeper/p.yaml" 2>&1); rc=$?
    if [ $rc = 0 ] && grep -q "file: \"$B44/bootloader/bootloader.bin\"" "$TMP/elsewhere/deeper/p.yaml"; then
        ok "import to standard output: absolute paths, the profile loads where it is saved"
    else
        notok "import to standard output: absolute paths: exit $rc: $out $(cat "$TMP/imp.err")"
    fi
fi

# Not a build directory: one sentence, exit 3.
out=$("$ESPDECK" profile import "$TMP" -o "$TMP/x.yaml" 2>&1); rc=$?
if [ $rc = 3 ] && echo "$out" | grep -q "flasher_args.json.*idf.py build"; then
    ok "import of a non-build folder says what is missing"
else
    notok "import non-build folder: exit $rc: $out"
fi
