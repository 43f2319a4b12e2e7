#!/bin/sh
# stubs/pull.sh BUILD_DIR - fetch the flasher stubs, check them, embed them.
#
# Writes BUILD_DIR/gen/stub_data.c: each stub JSON text as a byte array and
# a table chip name -> JSON (struct stub_blob, src/stub.h).  Sources, in
# order of precedence (stubs/README.md):
#   STUB_PULL_OVERRIDE_PATH=dir   read dir/<chip>.json (no checksum check)
#   STUB_PULL_VERSION=x.y.z       fetch <source>/v<x.y.z>/<chip>.json, with
#   [STUB_PULL_SOURCE=url]        source defaulting to the esp-flasher-stub
#                                 releases (no checksum check)
#   (neither)                     the pinned npm package esptool-js@0.7.0,
#                                 every file checked against stubs/SHA256SUMS
# Downloads are cached under BUILD_DIR/stub-cache.  When nothing can be
# fetched (offline) the table is empty, the build still succeeds, and a
# warning says so: espdeck then flashes through the ROM loader.
set -u

B=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
PIN_PKG=esptool-js
PIN_VERSION=0.7.0
PIN_DIR=lib/targets/stub_flasher
DEFAULT_SOURCE=https://github.com/espressif/esp-flasher-stub/releases/download
CHIPS="esp32 esp32s2 esp32s3 esp32c2 esp32c3 esp32c6 esp32h2 esp32c5 esp32p4
esp32p4-rev1"

CACHE=$B/stub-cache
OUT=$B/gen/stub_data.c
STAGE=$CACHE/stage
mkdir -p "$B/gen" "$CACHE" || exit 1
rm -rf "$STAGE"
mkdir -p "$STAGE" || exit 1

say() { echo "stubs: $*" >&2; }
loud() {
    echo "" >&2
    echo "********************************************************************" >&2
    for l in "$@"; do echo "*** stubs: $l" >&2; done
    echo "********************************************************************" >&2
    echo "" >&2
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

# run_limited SECONDS CMD...: bounded in time where timeout(1) exists.
run_limited() {
    t=$1; shift
    if command -v timeout >/dev/null 2>&1; then
        timeout "$t" "$@"
    else
        "$@"
    fi
}

fetch_url() { # URL FILE
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --connect-timeout 15 --max-time 60 -o "$2.part" "$1" \
            2>/dev/null
    elif command -v wget >/dev/null 2>&1; then
        wget -q -T 30 -t 2 -O "$2.part" "$1"
    else
        return 1
    fi || { rm -f "$2.part"; return 1; }
    mv "$2.part" "$2"
}

origin=""
failure=""
checked=no

if [ -n "${STUB_PULL_OVERRIDE_PATH:-}" ]; then
    dir=$STUB_PULL_OVERRIDE_PATH
    origin="local folder $dir (not checked)"
    if [ ! -d "$dir" ]; then
        failure="STUB_PULL_OVERRIDE_PATH=$dir is not a folder"
    fi
    for c in $CHIPS; do
        if [ -f "$dir/$c.json" ]; then
            cp "$dir/$c.json" "$STAGE/$c.json"
            say "$c.json from $dir/$c.json (not checked)"
        fi
    done
elif [ -n "${STUB_PULL_VERSION:-}" ] || [ -n "${STUB_PULL_SOURCE:-}" ]; then
    ver=${STUB_PULL_VERSION:-}
    src=${STUB_PULL_SOURCE:-$DEFAULT_SOURCE}
    src=${src%/}
    if [ -z "$ver" ]; then
        failure="STUB_PULL_SOURCE needs STUB_PULL_VERSION (files are <source>/v<version>/<chip>.json)"
    else
        origin="$src/v$ver (not checked)"
        key=$(printf '%s/v%s' "$src" "$ver" | tr -c 'A-Za-z0-9._-' '_')
        cdir=$CACHE/url-$key
        mkdir -p "$cdir"
        for c in $CHIPS; do
            names="$c"
            # esp-flasher-stub called the P4 rev1 build esp32p4rc1.
            [ "$c" = esp32p4-rev1 ] && names="$c esp32p4rc1"
            for n in $names; do
                if [ ! -s "$cdir/$c.json" ]; then
                    fetch_url "$src/v$ver/$n.json" "$cdir/$c.json" || true
                fi
                if [ -s "$cdir/$c.json" ]; then
                    cp "$cdir/$c.json" "$STAGE/$c.json"
                    say "$c.json from $src/v$ver/$n.json (not checked)"
                    break
                fi
            done
            [ -s "$STAGE/$c.json" ] || say "$c.json: not found at $src/v$ver/"
        done
    fi
else
    origin="npm package $PIN_PKG@$PIN_VERSION, SHA-256 checked"
    checked=yes
    tgz=$CACHE/$PIN_PKG-$PIN_VERSION.tgz
    if [ ! -s "$tgz" ]; then
        if command -v npm >/dev/null 2>&1; then
            say "fetching $PIN_PKG@$PIN_VERSION with npm pack"
            ( cd "$CACHE" && run_limited 180 npm pack "$PIN_PKG@$PIN_VERSION" \
                --loglevel=error --fetch-retries=1 --fetch-timeout=30000 \
                >/dev/null 2>npm-pack.err ) ||
                failure="npm pack $PIN_PKG@$PIN_VERSION failed: $(grep -v '^ *$' "$CACHE/npm-pack.err" 2>/dev/null | head -1)"
        else
            failure="npm is not installed (apt-get install npm)"
        fi
    fi
    if [ -s "$tgz" ]; then
        x=$CACHE/$PIN_PKG-$PIN_VERSION
        rm -rf "$x"
        mkdir -p "$x"
        if tar -xzf "$tgz" -C "$x" "package/$PIN_DIR" 2>/dev/null; then
            for c in $CHIPS; do
                f=$x/package/$PIN_DIR/$c.json
                want=$(awk -v n="$c.json" '$1 !~ /^#/ && $2 == n {print $1}' \
                    "$HERE/SHA256SUMS")
                if [ ! -f "$f" ]; then
                    say "$c.json is missing from $PIN_PKG@$PIN_VERSION"
                    continue
                fi
                got=$(sha256 "$f")
                if [ -z "$want" ]; then
                    loud "$c.json has no recorded SHA-256 in stubs/SHA256SUMS: not embedded"
                    continue
                fi
                if [ "$got" != "$want" ]; then
                    loud "SHA-256 MISMATCH for $c.json from $PIN_PKG@$PIN_VERSION" \
                        "expected $want" "got      $got" \
                        "delete $tgz and build again; if it persists the package changed"
                    rm -rf "$STAGE"
                    exit 1
                fi
                cp "$f" "$STAGE/$c.json"
            done
        else
            failure="$tgz is not a readable npm package: delete it and build again"
            rm -f "$tgz"
        fi
    fi
fi

# ---- generate the C table ----
tmp=$OUT.tmp
n=0
for c in $CHIPS; do [ -s "$STAGE/$c.json" ] && n=$((n + 1)); done
[ "$n" -eq 0 ] && origin="none embedded${failure:+ ($failure)}"
n=0
{
    echo "/* Generated by stubs/pull.sh: do not edit, do not commit. */"
    echo "/* Source: $(echo "$origin" | sed 's#\*/#* /#g') */"
    echo "#include <stddef.h>"
    echo ""
    echo "#include \"stub.h\""
    echo ""
} > "$tmp"
for c in $CHIPS; do
    f=$STAGE/$c.json
    [ -s "$f" ] || continue
    id=$(echo "$c" | tr -c 'A-Za-z0-9\n' '_')
    {
        echo "static const char stub_json_$id[] = {"
        od -An -v -tx1 "$f" | sed -e 's/^ *//' -e 's/ *$//' \
            -e 's/ \{1,\}/, 0x/g' -e 's/^/    0x/' -e 's/$/,/'
        echo "    0x00"
        echo "};"
        echo ""
    } >> "$tmp"
    n=$((n + 1))
done
{
    echo "const struct stub_blob stub_blobs[] = {"
    for c in $CHIPS; do
        [ -s "$STAGE/$c.json" ] || continue
        id=$(echo "$c" | tr -c 'A-Za-z0-9\n' '_')
        echo "    {\"$c\", stub_json_$id, sizeof stub_json_$id - 1},"
    done
    echo "    {NULL, NULL, 0},"
    echo "};"
    echo "const size_t stub_blob_count = $n;"
    printf 'const char stub_blob_origin[] = "%s";\n' \
        "$(echo "$origin" | sed 's/[\\"]/\\&/g')"
} >> "$tmp"
mv "$tmp" "$OUT"

if [ "$n" -eq 0 ]; then
    loud "NO FLASHER STUBS EMBEDDED${failure:+: $failure}" \
        "espdeck will build and work, but flashes through the ROM loader" \
        "(slower). Fix the cause and run: rm $OUT && make stubs"
    # Leave the file older than its inputs so the next build tries again.
    touch -d @0 "$OUT" 2>/dev/null || true
else
    [ -n "$failure" ] && loud "$failure"
    if [ "$checked" = yes ]; then
        say "embedded $n flasher stubs from $origin"
    else
        say "embedded $n flasher stubs from $origin"
        say "(not the pinned default: no SHA-256 check)"
    fi
fi
rm -rf "$STAGE"
exit 0
