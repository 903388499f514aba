#!/usr/bin/env bash
# predict --heatmap-out DIR --heatmap-format safetensors: the float32 heatmaps, one file per input
# (DIR/NAME.heatmaps.safetensors "heatmaps" (N,H,W) for a dataset, DIR/NAME.heatmap.safetensors
# "heatmap" (H,W) for an image), whose argmax and maximum are the x, y and peak the CSV prints;
# the 8-bit PNG of sample 0 gives a heatmap close to its float one; png stays the default.
# Usage: bash tests/cli_predict_heatmaps.sh path/to/pixloc
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib_cli.sh"

run() { "$@" >"$T/log" 2>&1 || { echo "command failed: $*"; cat "$T/log"; return 1; }; }
check "train a tiny model" run "$PX" train --samples 60 --size 9x7 --channels 2 --epochs 1 --batch-size 8 \
    --no-report --quiet --out run
check "a dataset with a PNG" run "$PX" generate --samples 4 --size 9x7 --seed 3 --out ds.safetensors --png png --png-count 1
"$PX" predict --model run --heatmap-out hm --heatmap-format safetensors ds.safetensors png/sample_00000.png >out.csv
check "predict --heatmap-format safetensors" test $? = 0
check "float heatmaps: one file per input" test -f hm/ds.safetensors.heatmaps.safetensors -a \
    -f hm/sample_00000.png.heatmap.safetensors
check "no PNG heatmaps with it" test -z "$(find hm -name '*.png')"
"$PX" predict --model run --heatmap-out hm2 png/sample_00000.png >/dev/null
check "png is the default" test -f hm2/sample_00000.png.heatmap.png
python3 - out.csv <<'PY'
import json, struct, sys


def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8 : 8 + n])
    ((name, t),) = [(k, v) for k, v in h.items() if k != "__metadata__"]
    s, e = t["data_offsets"]
    vals = struct.unpack(f"<{(e - s) // 4}f", b[8 + n + s : 8 + n + e])
    return name, t["dtype"], t["shape"], vals


rows = [r.rsplit(",", 3) for r in open(sys.argv[1]).read().splitlines()[1:]]
name, dt, shape, ds = load("hm/ds.safetensors.heatmaps.safetensors")
assert (name, dt, shape) == ("heatmaps", "F32", [4, 9, 7]), (name, dt, shape)
name, dt, shape1, one = load("hm/sample_00000.png.heatmap.safetensors")
assert (name, dt, shape1) == ("heatmap", "F32", [9, 7]), (name, dt, shape1)
maps = [ds[i * 63 : (i + 1) * 63] for i in range(4)] + [one]
assert len(rows) == 5, rows
for (inp, x, y, peak), h in zip(rows, maps):
    m = max(h)
    i = h.index(m)  # the first maximum, row-major
    assert (int(x), int(y)) == (i % 7, i // 7), (inp, x, y, i)
    assert abs(float(peak) - m) <= 5e-6 * max(1.0, m), (inp, peak, m)
# The PNG (8-bit) is sample 0 quantised: its heatmap is close to the dataset's first one.
assert max(abs(a - b) for a, b in zip(maps[0], one)) < 0.05
print("ok   float heatmaps: shapes, argmax = CSV x,y, max = CSV peak for", len(rows), "inputs")
PY
check "the float heatmaps agree with the CSV" test $? = 0
cli_summary
