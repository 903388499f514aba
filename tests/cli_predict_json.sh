#!/usr/bin/env bash
# predict --json writes valid JSON whatever the input's name: a file name with invalid UTF-8,
# a quote, a backslash and a control character comes out as a JSON string in which each invalid
# byte is U+FFFD and everything else is the name itself; the coordinates match the CSV output.
# Usage: bash tests/cli_predict_json.sh path/to/pixloc
set -euo pipefail
PX=$(realpath "$1")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export PIXLOC_CACHE_DIR=${PIXLOC_CACHE_DIR:-$TMP/cache}

"$PX" train --samples 40 --size 8x8 --channels 2 --epochs 1 --batch-size 8 --no-report --quiet --out "$TMP/run" \
    >"$TMP/train.log" 2>&1 || { cat "$TMP/train.log"; exit 1; }
# An 8x8 PGM with one bright pixel, under a plain name and under a hostile one.
{ printf 'P5\n8 8\n255\n'; head -c 64 /dev/zero | tr '\0' '\020'; } >"$TMP/plain.pgm"
printf '\377' | dd of="$TMP/plain.pgm" bs=1 seek=$((11 + 8 * 3 + 5)) conv=notrunc status=none
bad=$'bad\xff\xfe"q\\b\x01\xc3(.pgm'
cp "$TMP/plain.pgm" "$TMP/$bad"

"$PX" predict --model "$TMP/run" --json "$TMP/plain.pgm" "$TMP/$bad" >"$TMP/out.json" 2>"$TMP/err.log" \
    || { cat "$TMP/err.log"; exit 1; }
"$PX" predict --model "$TMP/run" "$TMP/plain.pgm" >"$TMP/out.csv" 2>>"$TMP/err.log"
python3 - "$TMP" "$TMP/out.json" "$TMP/out.csv" <<'PY'
import json, sys
tmp, js, csv = sys.argv[1:]
raw = open(js, "rb").read()
text = raw.decode("utf-8")  # strict: invalid UTF-8 in the output fails here
rows = json.loads(text)
want_bad = tmp + "/bad\ufffd\ufffd\"q\\b\x01\ufffd(.pgm"
assert [r["input"] for r in rows] == [tmp + "/plain.pgm", want_bad], rows
x, y = (int(v) for v in open(csv).read().splitlines()[1].split(",")[1:3])
for r in rows:
    assert (r["x"], r["y"]) == (x, y), (r, x, y)
    assert set(r) == {"input", "x", "y", "peak"} and isinstance(r["peak"], (int, float)), r
assert text.startswith('[\n  {"input": ') and text.endswith("}\n]\n"), text
print("predict --json:", len(rows), "rows, valid UTF-8 JSON, hostile name replaced as expected")
PY
