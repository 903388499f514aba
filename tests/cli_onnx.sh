#!/usr/bin/env bash
# `pixloc export --onnx` checked by other runtimes: trains a small model (1 epoch; one 32->32
# layer so pixloc's Winograd path is among those compared), exports it, and with
# tests/onnx_check.py runs onnx.checker, onnxruntime and OpenCV's dnn module on 200 images of
# the seed's test split (`pixloc generate --samples 15000 --seed 42`, indices from the
# sklearn-made fixture) and on 37x61 images (dynamic H and W), each compared with
# `pixloc predict --heatmap-format safetensors`: max abs difference <= 1e-5, identical argmax.
#
# The Python side runs in a virtual environment of pinned PyPI wheels, made on the first run
# and reused: $PIXLOC_ONNX_VENV [<source>/build/onnx-venv] (python3 -m venv, Debian's
# python3-venv). PyPI unreachable is a failure; PIXLOC_SKIP_PYPI=1 skips the test instead
# (offline developer runs).
# Usage: bash tests/cli_onnx.sh path/to/pixloc
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
. "$HERE/lib_cli.sh"

PINS=(onnx==1.23.2 onnxruntime==1.32.0 opencv-python-headless==4.14.0.94 numpy==2.4.6 protobuf==7.36.2
      ml_dtypes==0.7.0 flatbuffers==25.12.19 packaging==26.4 typing_extensions==4.16.0)
if [ "${PIXLOC_SKIP_PYPI:-0}" = 1 ]; then
    echo "SKIP: PIXLOC_SKIP_PYPI=1: the ONNX test needs onnx, onnxruntime and OpenCV from PyPI"
    exit 0
fi
VENV=${PIXLOC_ONNX_VENV:-$ROOT/build/onnx-venv}
PY=$VENV/bin/python
mkdir -p "$(dirname "$VENV")"
(
    flock 9
    stamp="${PINS[*]}"
    if [ ! -x "$PY" ] || [ "$(cat "$VENV/pixloc-pins" 2>/dev/null)" != "$stamp" ]; then
        echo "making $VENV (${PINS[*]})"
        rm -rf "$VENV"
        /usr/bin/env python3 -m venv "$VENV" || exit 1
        "$VENV/bin/pip" install -q --disable-pip-version-check "${PINS[@]}" || exit 1
        printf '%s' "$stamp" >"$VENV/pixloc-pins"
    fi
) 9>"$VENV.lock"
venv_rc=$?
check "virtual environment $VENV with ${PINS[*]}" test "$venv_rc" = 0 -a -x "$PY"
[ "$venv_rc" = 0 ] || { echo "(PyPI unreachable? PIXLOC_SKIP_PYPI=1 skips this test offline)"; cli_summary; exit 1; }

run() { echo "+ $* ($(date +%T))"; "$@" >"$T/log" 2>&1 || { echo "command failed: $*"; cat "$T/log"; return 1; }; }
# Without the input filter (the default preset's is on): the graph does not contain it, so
# pixloc's heatmaps of filtered images would not be the graph's.
check "train a small model" run "$PX" train --samples 1500 --channels 8,32,32,8 --epochs 1 --batch-size 32 \
    --input-filter none --no-report --quiet --out run
check "export it" run "$PX" export --model run --onnx model.onnx
check "export says what it wrote" grep -q "wrote model.onnx (ONNX opset 13, 4 blocks)" "$T/log"
check "export again over the file" run "$PX" export --model run/best.safetensors --onnx model.onnx
"$PY" "$HERE/onnx_check.py" poison run/best.safetensors conv1.bias 3 nan.safetensors
"$PX" export --model nan.safetensors --onnx nan.onnx >"$T/log" 2>&1
check "a NaN weight: exit 1" test $? = 1
check "... naming the tensor and element" grep -q "tensor 'conv1.bias' element 3 is NaN: the checkpoint is damaged" "$T/log"
check "... and no file written" test ! -e nan.onnx
check "the seed's dataset" run "$PX" generate --samples 15000 --seed 42 --out seed42.safetensors
check "200 images of its test split" run "$PY" "$HERE/onnx_check.py" subset seed42.safetensors \
    "$PIXLOC_TEST_DATA/dataset_fixture.safetensors" 200 test200.safetensors
rm -f seed42.safetensors
check "37x61 images" run "$PX" generate --samples 30 --seed 5 --size 37x61 --out odd.safetensors

for ds in test200 odd; do
    "$PX" predict --model run --heatmap-out hm --heatmap-format safetensors "$ds.safetensors" >"$ds.csv" 2>"$T/log"
    check "pixloc predict $ds" test $? = 0
    if "$PY" "$HERE/onnx_check.py" compare model.onnx "$ds.safetensors" "hm/$ds.safetensors.heatmaps.safetensors" \
        "$ds.csv" --opencv >"$T/check.log" 2>&1; then
        ok "onnx_check $ds"
    else
        bad "onnx_check $ds"
    fi
    sed 's/^/     | /' "$T/check.log"
done

# The README's three lines, as written, from a directory with model.onnx and data/examples/.
awk '/^### Export to ONNX/ {s=1} s && /^```python/ {p=1; next} p && /^```/ {exit} p' "$ROOT/README.md" >readme.py
ln -s "$ROOT/data" data
check "README snippet found" grep -q "InferenceSession" readme.py
"$PY" readme.py >readme.out 2>"$T/log"
check "README snippet runs" test $? = 0
want=$("$PX" predict --model run data/examples/bright-x35-y42.png | awk -F, 'NR == 2 {print $2, $3}')
check "README snippet prints pixloc predict's x y ($want)" test "$(cat readme.out)" = "$want"
cli_summary
