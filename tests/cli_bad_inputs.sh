#!/usr/bin/env bash
# Bad input everywhere: runs every row of tests/bad_inputs.tsv against the pixloc
# binary and checks its exit status and message, after making the fixtures the
# table uses in a temporary directory. A crash (signal), a sanitizer report or a
# wrong status or message fails the row. Prints one line per row and
# "N passed, N failed". Usage: bash tests/cli_bad_inputs.sh path/to/pixloc [ROW_NAME_REGEX]
set -uo pipefail
PX=$(realpath "$1")
ONLY=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export PIXLOC_CACHE_DIR=${PIXLOC_CACHE_DIR:-$TMP/cache}

# ---- fixtures
fixture() { "$@" >"$TMP/fixture.log" 2>&1 || { echo "fixture failed: $*"; cat "$TMP/fixture.log"; exit 1; }; }
fixture "$PX" train --samples 100 --size 8x8 --channels 2 --epochs 1 --batch-size 8 --no-report --quiet --out "$TMP/run"
fixture "$PX" generate --out "$TMP/ds.safetensors" --samples 4 --size 8x8 --png "$TMP/png" --png-count 1
cp "$TMP/png/sample_00000.png" "$TMP/good.png"
head -c 40 "$TMP/good.png" >"$TMP/corrupt.png"
head -c 100 "$TMP/run/best.safetensors" >"$TMP/trunc.safetensors"
head -c 4096 /dev/urandom >"$TMP/garbage.safetensors"
printf 'not a directory\n' >"$TMP/afile"
# A folder for import: two 8x8 PNGs, a truncated one and a 6x8 one.
mkdir -p "$TMP/imp"
cp "$TMP/good.png" "$TMP/imp/a.png" && cp "$TMP/good.png" "$TMP/imp/b.png" && cp "$TMP/corrupt.png" "$TMP/imp/corrupt.png"
fixture "$PX" generate --out "$TMP/odd.safetensors" --samples 1 --size 6x8 --png "$TMP/oddpng" --png-count 1
cp "$TMP/oddpng/sample_00000.png" "$TMP/imp/odd.png"
# The settings claim 3 channels; the tensors have 2 (same length, so the header stays valid).
perl -0777 -pe 's/\\"channels\\":\\"2\\"/\\"channels\\":\\"3\\"/ or die "no channels"' \
    "$TMP/run/best.safetensors" >"$TMP/mismatch.safetensors" || { echo "fixture failed: mismatch"; exit 1; }

# ---- rows
pass=0 fail=0
while IFS=$'\t' read -r name want frag cmd; do
  [[ -z "$name" || "$name" == \#* || "$name" == name ]] && continue
  [[ -n "$ONLY" && ! "$name" =~ $ONLY ]] && continue
  cmd=${cmd//@PX@/$PX}
  cmd=${cmd//@TMP@/$TMP}
  frag=${frag//@TMP@/$TMP}
  out=$(cd "$TMP" && timeout 300 bash -c "$cmd" 2>&1)
  got=$?
  problems=()
  [[ "$got" == "$want" ]] || problems+=("exit status $got, expected $want")
  rest=$frag
  while [[ -n "$rest" ]]; do
    f=${rest%% && *}
    [[ "$rest" == *" && "* ]] && rest=${rest#* && } || rest=""
    grep -qF -- "$f" <<<"$out" || problems+=("no '$f' in the output")
  done
  if grep -qE 'ERROR: [A-Za-z]*Sanitizer|runtime error:|Segmentation fault|core dumped|Aborted' <<<"$out"; then
    problems+=("crash or sanitizer report")
  fi
  if [[ ${#problems[@]} -eq 0 ]]; then
    pass=$((pass + 1))
    echo "PASS $name"
  else
    fail=$((fail + 1))
    echo "FAIL $name: $(IFS=';'; echo "${problems[*]}")"
    echo "     command: $cmd"
    sed 's/^/     | /' <<<"$out" | head -n 12
  fi
done <"$HERE/bad_inputs.tsv"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 && $pass -gt 0 ]]
