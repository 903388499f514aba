#!/usr/bin/env bash
# pixloc.1 from `pixloc --help` (help2man), with a COMMANDS section holding each command's own
# --help, so the page says what the binary says. Usage: man_page.sh PIXLOC OUT.1
set -euo pipefail
PX=$1 OUT=$2
inc=$(mktemp)
trap 'rm -f "$inc"' EXIT
# The command table as `pixloc --help` prints it: "  name   summary" lines after "Commands:".
cmds=$("$PX" --help | awk '/^Commands:/ {f = 1; next} f && /^$/ {exit} f {print $1}')
[ -n "$cmds" ] || { echo "man_page.sh: no commands in '$PX --help'" >&2; exit 1; }
{
    echo "[COMMANDS]"
    for c in $cmds; do
        echo ".SS \"pixloc $c\""
        echo ".nf"
        # roff: a backslash is \e, a minus \- (a bare - renders as a hyphen, which breaks a copied
        # flag); a line starting with . or ' would be a request.
        "$PX" "$c" --help | sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\([.']\)/\\\\\&\1/"
        echo ".fi"
    done
} >"$inc"
# help2man runs pixloc under the C locale unless told: UTF-8 in the help (an em dash) needs this one.
help2man --locale=C.UTF-8 --no-info --section 1 --name "find the one bright pixel in a noisy image, with a heatmap CNN on OpenCL" \
    --include "$inc" --output "$OUT" "$PX"
