#!/usr/bin/env bash
# train --sigma: the training targets' heatmap width is a training setting, apart from the data's
# recipe. Checks: the targets drawn in the run's report samples have the asked width (the value
# one pixel from the peak is exp(-1/(2 sigma^2))), without the flag the preset's (default: 0.8;
# seed: the data's, 1.8); config.json and the
# checkpoint record it; the model differs from one trained on the data's sigma; --resume keeps it
# (a run resumed after 1 of 2 epochs equals one that never stopped: the resume reads it back);
# --resume refuses a new one; a sigma out of range is refused.
# Usage: bash tests/cli_train_sigma.sh path/to/pixloc
. "$(dirname "$0")/lib_cli.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

"$PX" generate --samples 120 --size 16x16 --seed 3 --out d.safetensors >/dev/null || exit 1
common=(--data d.safetensors --channels 4,8 --batch-size 16 --lr-schedule constant --quiet --no-report)
"$PX" train "${common[@]}" --epochs 1 --sigma 1.0 --out s1 >s1.log 2>&1 || { cat s1.log; exit 1; }
"$PX" train "${common[@]}" --epochs 1 --out sp >sp.log 2>&1 || { cat sp.log; exit 1; }
"$PX" train "${common[@]}" --epochs 1 --preset seed --out s0 >s0.log 2>&1 || { cat s0.log; exit 1; }

# The value one pixel right of the peak of the first report sample's target heatmap, in the
# run's report_samples.safetensors (written with --no-report too).
neighbour() {
    python3 - "$1/report_samples.safetensors" <<'PY'
import json, math, struct, sys
blob = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
head = json.loads(blob[8:8 + n])
t = head["heatmaps_true"]
S, H, W = t["shape"]
lo, _ = t["data_offsets"]
v = struct.unpack("<%df" % (H * W), blob[8 + n + lo:8 + n + lo + 4 * H * W])
k = max(range(H * W), key=lambda i: v[i])
y, x = divmod(k, W)
# a horizontal neighbour inside the image
print(v[k + 1] if x + 1 < W else v[k - 1])
PY
}
close() { python3 -c "import math,sys; a,s=float(sys.argv[1]),float(sys.argv[2]); sys.exit(abs(a-math.exp(-1/(2*s*s)))>1e-6)" "$1" "$2"; }
n1=$(neighbour s1) && np=$(neighbour sp) && n0=$(neighbour s0) || exit 1
check "--sigma 1.0: the targets are 1 px wide (next to the peak $n1)" close "$n1" 1.0
check "the default preset: 0.8 px (next to the peak $np)" close "$np" 0.8
check "--preset seed: the data's 1.8 (next to the peak $n0)" close "$n0" 1.8
check "config.json records label_sigma 1" grep -q '"label_sigma":1[,}]' s1/config.json
check "config.json records the targets' sigma in the recipe" grep -q 'sigma=1[,"]' s1/config.json
check "the seed preset's config.json: label_sigma 0 (the data's)" grep -q '"label_sigma":0[,}]' s0/config.json
check "the models differ (--sigma 1.0 and the preset's 0.8)" \
    bash -c "! python3 '$HERE/ckpt_same.py' s1/last.safetensors sp/last.safetensors --tensors-only >/dev/null"

# Resume: 1 epoch then --resume to 2 equals 2 epochs straight (a constant rate: a cosine schedule
# spans the total epochs, so it would change with the total).
"$PX" train "${common[@]}" --epochs 2 --sigma 1.0 --out full >full.log 2>&1 || { cat full.log; exit 1; }
cp -r s1 part
"$PX" train --resume part --epochs 2 --quiet --no-report >part.log 2>&1 || { cat part.log; exit 1; }
check "a run resumed after 1 of 2 epochs equals one that never stopped" \
    python3 "$HERE/ckpt_same.py" full/last.safetensors part/last.safetensors

"$PX" train --resume part --epochs 3 --sigma 2 --quiet >r.log 2>&1
check "--resume refuses --sigma (exit 2)" [ $? -eq 2 ]
check "... and says it cannot change" grep -q -- "--sigma cannot change" r.log
"$PX" train "${common[@]}" --sigma 0 --out z >z.log 2>&1
check "--sigma 0 is refused (exit 2)" [ $? -eq 2 ]
check "... naming the flag" grep -q -- "--sigma" z.log
cli_summary
