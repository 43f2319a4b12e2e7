#!/bin/sh
# make check: the layering rules that a grep can see.
#  - nothing under src/ (but src/main.c) prints or touches curses;
#  - each foreign library is included by its one wrapper module;
#  - every shipped profile loads through the real parser.
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
rc=0
bad=$(grep -rlE '#include *<(n?curses|ncursesw/curses)\.h>|\b(printf|puts|fprintf|perror) *\(|\bstd(out|err)\b' src | grep -v '^src/main\.c$')
if [ -n "$bad" ]; then
    echo "check: these files under src/ print or touch the terminal: $bad"
    rc=1
fi
only() { # only HEADER FILE...
    h=$1; shift
    users=$(grep -rl "#include *<$h>" src ui | sort)
    for u in $users; do
        ok=0
        for allowed in "$@"; do [ "$u" = "$allowed" ] && ok=1; done
        if [ $ok = 0 ]; then echo "check: $u includes <$h> (only $* may)"; rc=1; fi
    done
}
only libserialport.h src/port/port_serial.c
only yaml.h src/format/profile.c
only elfutils/libdw.h src/format/elfsym.c
only gelf.h src/format/elfsym.c
only libelf.h src/format/elfsym.c
if ls profiles/*.yaml >/dev/null 2>&1; then
    for p in profiles/*.yaml; do
        # the hardware examples flash an ESP-IDF build the user makes
        # (tests/sh/profile.sh checks them with one): here only that the
        # rest loads, i.e. the missing build is the one error
        if grep -q '^idf_build:' "$p"; then
            out=$(ESPDECK_IDF_BUILD=/nonexistent "$BUILD/espdeck" check "$p" 2>&1)
            [ "$(echo "$out" | grep -c 'error:')" = 1 ] &&
                echo "$out" | grep -q 'ESP-IDF build folder /nonexistent does not exist' || {
                echo "check: $p: $(echo "$out" | head -3)"; rc=1; }
            continue
        fi
        "$BUILD/espdeck" check "$p" >/dev/null 2>&1 || {
            echo "check: $p does not load: $("$BUILD/espdeck" check "$p" 2>&1 | head -3)"; rc=1; }
    done
fi
[ $rc = 0 ] && echo "check: layering and profiles ok"
exit $rc
