#!/usr/bin/env bash
# clang-format (style in .clang-format) over the C sources: `tools/format.sh` rewrites them,
# `tools/format.sh --check` lists the files that differ and fails (tools/test.sh runs that).
set -euo pipefail
cd "$(dirname "$0")/.."
FMT=$(command -v clang-format-14 || command -v clang-format) || { echo "format: clang-format not installed"; exit 1; }
mapfile -t files < <(git ls-files 'host/*.c' 'include/*.h' 'tests/*.c' 'tests/*.h' 'examples/*.c')
if [ "${1:-}" = --check ]; then
    bad=()
    for f in "${files[@]}"; do "$FMT" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f"); done
    if [ ${#bad[@]} -gt 0 ]; then
        printf 'format: not clang-formatted: %s\n' "${bad[@]}"
        echo "format: run bash tools/format.sh"
        exit 1
    fi
    echo "format: ${#files[@]} files formatted"
else
    "$FMT" -i "${files[@]}"
fi
