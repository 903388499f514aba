#!/usr/bin/env bash
# The host libraries form a stack (CMakeLists.txt): every symbol a library needs from
# pixloc must be defined in that library or in one it links (below it). Static
# archives do not enforce this on their own (an archive may name a function that a
# higher one defines, and the binary still links), so this test reads the archives:
#   tests/layers.sh BUILD_DIR
set -euo pipefail
B=${1:?usage: layers.sh BUILD_DIR}
# name: the libraries it may use (itself included)
declare -A ALLOWED=(
    [core]="core"
    [runtime]="runtime core"
    [io]="io core"
    [nn]="nn runtime core"
    [eval]="eval nn io runtime core"
    [train]="train eval nn io runtime core"
    [report]="report io core"
    [export]="export nn io runtime core"
    [cli]="cli export report train eval nn io runtime core"
)
defined() { nm --defined-only -g "$B/libpixloc_$1.a" 2>/dev/null | awk 'NF==3 && $2 ~ /[TDBRC]/ {print $3}' | sort -u; }
declare -A DEF
all=$(mktemp)
trap 'rm -f "$all"' EXIT
for l in "${!ALLOWED[@]}"; do
    [ -f "$B/libpixloc_$l.a" ] || { echo "layers: $B/libpixloc_$l.a is missing"; exit 1; }
    DEF[$l]=$(defined "$l")
    printf '%s\n' "${DEF[$l]}" | sed "s/\$/ $l/" >>"$all"
done
fail=0
checked=0
for l in "${!ALLOWED[@]}"; do
    for sym in $(nm --undefined-only "$B/libpixloc_$l.a" | awk 'NF==2 && $1=="U" {print $2}' | sort -u); do
        owner=$(awk -v s="$sym" '$1==s {print $2; exit}' "$all")
        [ -n "$owner" ] || continue # a system library's symbol
        checked=$((checked + 1))
        case " ${ALLOWED[$l]} " in
        *" $owner "*) ;;
        *) echo "layers: libpixloc_$l uses $sym, defined in libpixloc_$owner (above it)"; fail=1 ;;
        esac
    done
done
echo "layers: $checked cross-file references checked"
[ "$checked" -gt 0 ] || { echo "layers: nothing checked"; exit 1; }
[ $fail = 0 ] && echo "1 passed, 0 failed" || { echo "0 passed, 1 failed"; exit 1; }
