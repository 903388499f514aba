#!/usr/bin/env bash
# bash completion (tools/bash-completion/pixloc), checked against the source rather than against
# the help it reads: every command of main.c's COMMANDS table completes after `pixloc`, and
# every long option of each command's getopt table (host/cli/cmd_NAME.c) completes after
# `pixloc NAME --` (so a flag missing from a command's --help fails here too) and has a line of
# its own in that --help. A flag whose help
# placeholder names a DIR completes folders only; --model completes files.
# Usage: bash tests/cli_completion.sh path/to/pixloc
. "$(dirname "$0")/lib_cli.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC1091
. "$SRC/tools/bash-completion/pixloc"

complete_words() { # WORD... (the last one is being completed): prints COMPREPLY, one a line
    COMP_WORDS=("$PX" "$@")
    COMP_CWORD=$#
    _pixloc
    printf '%s\n' "${COMPREPLY[@]}"
}

commands=$(sed -n '/COMMANDS\[\] = {/,/^};/p' "$SRC/host/cli/main.c" | grep -oE '^ *\{"[a-z]+", cmd_' | grep -oE '[a-z]+' \
    | grep -v '^cmd$' | sort)
check "main.c's command table read ($(echo "$commands" | wc -l) commands)" test "$(echo "$commands" | wc -l)" -ge 8
got=$(complete_words "" | grep -v '^--' | sort)
check "pixloc <TAB> offers exactly the command table" test "$got" = "$commands"
[ "$got" = "$commands" ] || diff <(echo "$commands") <(echo "$got")
check "pixloc --v<TAB> offers --version" test "$(complete_words --v)" = --version

for c in $commands; do
    src="$SRC/host/cli/cmd_$c.c"
    [ -f "$src" ] || { bad "no $src for command $c"; continue; }
    flags=$(grep -oE '\{"[a-z][a-z0-9-]*", *(no|required|optional)_argument' "$src" | grep -oE '"[^"]+"' | tr -d '"' | sort -u)
    offered=$(complete_words "$c" -- | sort -u)
    missing=""
    for f in $flags; do grep -qx -- "--$f" <<<"$offered" || missing="$missing --$f"; done
    check "pixloc $c --<TAB> offers its $(echo "$flags" | wc -w) getopt flags${missing:+ (missing:$missing)}" test -z "$missing"
    # Offered is not enough: a flag named only inside another's text (train's --input-filter once
    # stood only in --preset accurate's line) completes, yet --help never says what it does. Each
    # flag but --help must begin an option line ("  --a X", "  --a / --no-a", "  --h H, --w W").
    help=$("$PX" "$c" --help 2>/dev/null)
    undocumented=""
    for f in $flags; do
        [ "$f" = help ] && continue
        grep -qE -- "^ +(--[a-z0-9-]+( [A-Za-z|_]+)?(, | / ))?--$f([ ,=]|\$)" <<<"$help" || undocumented="$undocumented --$f"
    done
    check "pixloc $c --help has an option line for each flag${undocumented:+ (none for:$undocumented)}" \
        test -z "$undocumented"
done
check "pixloc predict --dev<TAB> offers the device flags" test "$(complete_words predict --dev | sort | tr '\n' ' ')" = "--device --device-type "

mkdir -p adir && touch afile
check "pixloc predict --heatmap-out <TAB> offers folders only" test "$(complete_words predict --heatmap-out a)" = adir
check "pixloc predict --model <TAB> offers files" test "$(complete_words predict --model a | sort | tr '\n' ' ')" = "adir afile "
cli_summary
