#!/bin/bash
# `make install` into a DESTDIR (issue 10): the binary, espdeck(1), the
# example profiles and bash completion where a Unix tool keeps them (the
# default PREFIX, so the build is not redone for another data folder).
source tests/lib.sh
D=$TMP/root
if ! make -s install DESTDIR="$D" PREFIX=/usr/local BUILD="${BUILD:-build}" >"$TMP/make.out" 2>&1; then
    notok "install: make install DESTDIR=... PREFIX=/usr/local: $(tail -5 "$TMP/make.out")"
    exit 0
fi
check "install: the binary in PREFIX/bin runs" \
    test "$("$D/usr/local/bin/espdeck" --version | cut -d' ' -f1)" = espdeck
check "install: espdeck(1) in PREFIX/share/man/man1" test -s "$D/usr/local/share/man/man1/espdeck.1"
if command -v groff >/dev/null; then
    groff -man -Tutf8 -ww -z "$D/usr/local/share/man/man1/espdeck.1" 2>"$TMP/groff.err"
    check "install: the man page is clean roff (groff -ww)" test ! -s "$TMP/groff.err"
    groff -man -Tutf8 "$D/usr/local/share/man/man1/espdeck.1" 2>/dev/null | grep -q 'write-flash' &&
        ok "install: the man page renders its commands" ||
        notok "install: the man page renders its commands"
else
    skip "install: man page rendering: no groff"
fi
n=$(ls "$D/usr/local/share/espdeck/profiles/"*-hello-world.yaml 2>/dev/null | wc -l)
check "install: the example profiles in PREFIX/share/espdeck/profiles" test "$n" -eq 9
check "install: demo.yaml (needs the source tree) is not installed" \
    test ! -e "$D/usr/local/share/espdeck/profiles/demo.yaml"
out=$(bash -c "source '$D/usr/local/share/bash-completion/completions/espdeck' && complete -p espdeck" 2>&1)
check "install: bash completion registers for espdeck" test -n "$(echo "$out" | grep -- '-F _espdeck')"
out=$(bash -c "source '$D/usr/local/share/bash-completion/completions/espdeck'
COMP_WORDS=(espdeck wri); COMP_CWORD=1; _espdeck; echo \${COMPREPLY[*]}" 2>&1)
check "install: completion offers write-flash and write_flash" \
    test -n "$(echo "$out" | grep -w write-flash | grep -w write_flash)"
make -s uninstall DESTDIR="$D" PREFIX=/usr/local BUILD="${BUILD:-build}" >/dev/null 2>&1
check "install: make uninstall removes what install put there" \
    test -z "$(find "$D" -type f)"
exit 0
