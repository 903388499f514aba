#!/usr/bin/env bash
# clang-tidy over every host/ source with the checks of .clang-tidy (bugprone-*, clang-analyzer-*);
# any finding fails. Needs a configured build dir (compile_commands.json): tools/tidy.sh [BUILD_DIR [FILE...]]
# (FILEs: only those). A source that build does not compile (host/train/dist.c without
# -DPIXLOC_MPI=ON) is skipped: tools/test.sh checks it with build-mpi.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
[ -f "$B/compile_commands.json" ] || { echo "tidy: $B/compile_commands.json missing (configure first)"; exit 1; }
TIDY=$(command -v clang-tidy-14 || command -v clang-tidy) || { echo "tidy: clang-tidy not installed"; exit 1; }
# One file per clang-tidy process: clang-tidy 14's valist checker carries state from one file to
# the next in the same process and then reports every va_list in host/core/util.c as uninitialised
# whenever util.c is not the first file of its batch (a false positive that a new file shifts in).
if [ $# -gt 1 ]; then list=("${@:2}"); else mapfile -t list < <(git ls-files 'host/*.c'); fi
srcs=()
for f in "${list[@]}"; do grep -q "\"file\": \"$PWD/$f\"" "$B/compile_commands.json" && srcs+=("$f"); done
out=$(printf '%s\n' "${srcs[@]}" | xargs -P"$(nproc)" -n1 "$TIDY" -p "$B" --quiet --extra-arg=-Wno-unknown-warning-option 2>&1 | grep -E '(warning|error):' | sort -u || true)
n=$(printf '%s' "$out" | grep -c . || true)
files=${#srcs[@]}
if [ "$n" -gt 0 ]; then
    printf '%s\n' "$out"
    echo "tidy: $n findings in $files files"
    exit 1
fi
echo "tidy: $files files, no findings"
