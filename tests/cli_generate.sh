#!/bin/bash
# `pixloc generate`: writes a dataset; bad values exit 2 naming the flag; an
# unwritable output exits 1 naming the path and leaves nothing behind; the file
# opens with Python's safetensors (skipped, with a message, when not importable;
# PIXLOC_PYTHON picks the interpreter, else ./.venv/bin/python, else python3;
# tools/dataset_reference.py says how to make a venv).
# Usage: bash tests/cli_generate.sh path/to/pixloc
set -u
PIXLOC=${1:?usage: cli_generate.sh path/to/pixloc}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PY=${PIXLOC_PYTHON:-}
if [ -z "$PY" ]; then
    PY=python3
    [ -x "$SRC/.venv/bin/python" ] && PY="$SRC/.venv/bin/python"
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect STATUS FRAGMENT ARGS...: exit status and a fragment of stdout+stderr.
expect() {
    local want=$1 frag=$2
    shift 2
    local out rc
    out=$("$PIXLOC" generate "$@" 2>&1)
    rc=$?
    if [ "$rc" != "$want" ]; then
        bad "generate $* exited $rc, want $want; output: $out"
    elif ! grep -qF -- "$frag" <<<"$out"; then
        bad "generate $* output lacks '$frag': $out"
    else
        ok
    fi
}

expect 0 "wrote $T/a.safetensors" --samples 20 --seed 3 --out "$T/a.safetensors"
[ -s "$T/a.safetensors" ] && ok || bad "no output file"
expect 0 "HI exclusive" --help
expect 0 "wrote $T/b.safetensors" --samples 5 --size 7x9 --blur 3 --noise-std 2.5 --bg-prob 0.1 \
    --bg-range 100,200 --sigma 1.2 --heatmaps --out "$T/b.safetensors"

expect 2 "--samples" --samples 0 --out "$T/c.safetensors"
expect 2 "--samples" --samples -5 --out "$T/c.safetensors"
expect 2 "not a whole number" --samples abc --out "$T/c.safetensors"
expect 2 "--size" --size 100000x100000 --out "$T/c.safetensors"
expect 2 "not HxW" --size 50 --out "$T/c.safetensors"
expect 2 "GiB" --size 4096x4096 --samples 100000 --out "$T/c.safetensors"
expect 2 "--width" --width 0 --out "$T/c.safetensors"
expect 2 "--blur" --blur 4 --out "$T/c.safetensors"
expect 2 "--noise-std" --noise-std -1 --out "$T/c.safetensors"
expect 2 "--bg-prob" --bg-prob 1.5 --out "$T/c.safetensors"
expect 2 "--bg-range" --bg-range 40,5 --out "$T/c.safetensors"
expect 2 "--bg-range" --bg-range 5 --out "$T/c.safetensors"
expect 2 "--seed" --seed 4294967296 --out "$T/c.safetensors"
expect 2 "--sigma" --sigma 0 --out "$T/c.safetensors"
expect 2 "--out FILE is required" --samples 3
expect 2 "unknown option" --frobnicate --out "$T/c.safetensors"
expect 2 "unexpected argument" stray --out "$T/c.safetensors"
[ ! -e "$T/c.safetensors" ] && ok || bad "a refused command wrote a file"

expect 1 "$T/missing/x.safetensors" --samples 3 --out "$T/missing/x.safetensors"
mkdir "$T/isdir"
expect 1 "$T/isdir" --samples 3 --out "$T/isdir"
leftover=$(find "$T" -name '*.tmp.*' | head -1)
[ -z "$leftover" ] && ok || bad "temporary file left behind: $leftover"

# Same seed, same bytes; another seed, other bytes.
"$PIXLOC" generate --samples 20 --seed 3 --out "$T/a2.safetensors" >/dev/null 2>&1
cmp -s "$T/a.safetensors" "$T/a2.safetensors" && ok || bad "same seed gave different files"
"$PIXLOC" generate --samples 20 --seed 4 --out "$T/a3.safetensors" >/dev/null 2>&1
cmp -s "$T/a.safetensors" "$T/a3.safetensors" && bad "different seeds gave the same file" || ok

expect 0 "wrote 2 PNG files" --samples 4 --out "$T/p.safetensors" --png "$T/png" --png-count 2
[ -s "$T/png/sample_00000.png" ] && [ -s "$T/png/sample_00001.png" ] && [ ! -e "$T/png/sample_00002.png" ] &&
    ok || bad "PNG files missing"

if "$PY" -c "import numpy, safetensors.numpy" 2>/dev/null; then
    if "$PY" - "$T/a.safetensors" "$T/b.safetensors" <<'EOF'; then ok; else bad "Python safetensors could not read the files"; fi
import sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
a = load_file(sys.argv[1])
assert a["images"].dtype == np.float32 and a["images"].shape == (20, 50, 50), a["images"].shape
assert a["coords"].dtype == np.int32 and a["coords"].shape == (20, 2)
assert 0 <= a["images"].min() and a["images"].max() <= 1
assert (a["coords"] >= 0).all() and (a["coords"] < 50).all()
with safe_open(sys.argv[1], framework="np") as f:
    m = f.metadata()
assert m["format"] == "pixloc-dataset" and m["seed"] == "3" and "blur=5" in m["recipe"], m
b = load_file(sys.argv[2])
assert b["images"].shape == (5, 7, 9) and b["heatmaps"].shape == (5, 7, 9)
for (x, y), h in zip(b["coords"], b["heatmaps"]):
    assert h[y, x] == 1.0 and h.argmax() == y * 9 + x
print("Python safetensors reads both files")
EOF
    if "$PY" -c "import cv2" 2>/dev/null; then
        out=$("$PY" "$SRC/tools/dataset_reference.py" --check "$T/b.safetensors" 2>&1)
        rc=$?
        [ $rc = 0 ] && ok || bad "numpy/OpenCV reference check failed: $out"
        out=$("$PY" "$SRC/tools/dataset_reference.py" --check "$T/a.safetensors" 2>&1)
        rc=$?
        [ $rc = 0 ] && ok || bad "numpy/OpenCV reference check failed: $out"
    else
        echo "skip: OpenCV (cv2) not importable by $PY: reference comparison not run"
    fi
else
    echo "skip: numpy/safetensors not importable by $PY (set PIXLOC_PYTHON): Python load check not run"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
