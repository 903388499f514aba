# `pixloc bench` on a tiny network: the JSON parses, every figure is positive and
# finite, each GFLOP/s agrees with its ms and the layer shape, and bad flags exit 2.
# Usage: bash tests/cli_bench.sh path/to/pixloc
set -euo pipefail
PIXLOC=${1:?usage: cli_bench.sh path/to/pixloc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$PIXLOC" bench --channels 4,8 --size 12x12 --batch-size 4 --reps 2 --json >"$tmp/bench.json"

python3 - "$tmp/bench.json" <<'EOF'
import json, math, sys

j = json.load(open(sys.argv[1]))
bad = []

def walk(v, path):
    if isinstance(v, bool):
        bad.append(f"{path}: boolean")
    elif isinstance(v, (int, float)):
        if not (math.isfinite(v) and v > 0):
            bad.append(f"{path} = {v!r}: not positive and finite")
    elif isinstance(v, dict):
        for k, x in v.items():
            walk(x, f"{path}.{k}")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            walk(x, f"{path}[{i}]")
    elif isinstance(v, str):
        if not v:
            bad.append(f"{path}: empty string")

walk(j, "$")
for k in ("device", "driver", "reps", "warmup", "startup_s", "batch_size", "train", "inference", "conv"):
    if k not in j:
        bad.append(f"missing {k}")
if j.get("reps") != 2 or j.get("batch_size") != 4 or j.get("channels") != [4, 8]:
    bad.append("settings not echoed")
if j["height"] != 12 or j["width"] != 12:
    bad.append("size not echoed")

def close(a, b):
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b))

N, H, W = j["batch_size"], j["height"], j["width"]
cin = 1
if [c["cout"] for c in j["conv"]] != j["channels"]:
    bad.append("one conv entry per block expected")
train_gflop = 0.0
for i, c in enumerate(j["conv"]):
    if c["cin"] != cin:
        bad.append(f"conv{i}: cin {c['cin']} != {cin}")
    gflop = 2 * 9 * c["cin"] * c["cout"] * H * W * N / 1e9
    if not close(c["gflop"], gflop):
        bad.append(f"conv{i}: gflop {c['gflop']} != {gflop}")
    for op in ("forward", "backward_input", "backward_weights"):
        t = c[op]
        if not close(t["gflops"], gflop / (t["ms"] / 1e3)):
            bad.append(f"conv{i}.{op}: {t['gflops']} GFLOP/s inconsistent with {t['ms']} ms")
        if t["ms_min"] > t["ms"] * (1 + 1e-9):
            bad.append(f"conv{i}.{op}: ms_min above the median")
    train_gflop += (3 if i > 0 else 2) * gflop
    cin = c["cout"]

tr = j["train"]
if not close(tr["samples_per_s"], N / (tr["ms"] / 1e3)):
    bad.append("train samples_per_s inconsistent with ms")
if not close(tr["conv_gflop"], train_gflop) or not close(tr["conv_gflops"], train_gflop / (tr["ms"] / 1e3)):
    bad.append("train conv GFLOP(/s) inconsistent")
if [e["batch"] for e in j["inference"]] != [4, 16]:
    bad.append("inference batches should default to N and 4N")
for e in j["inference"]:
    if not close(e["images_per_s"], e["batch"] / (e["ms"] / 1e3)):
        bad.append(f"inference {e['batch']}: images_per_s inconsistent with ms")

if bad:
    print("NOT OK:\n  " + "\n  ".join(bad))
    sys.exit(1)
print(f"OK: bench JSON ({len(j['conv'])} layers) is complete and consistent")
EOF

# --no-layers: no per-layer timings, the rest as before; the training step's GFLOP
# still counts every layer; ms_per_image is the batch's time per image (batch 1: latency).
"$PIXLOC" bench --channels 4,8 --size 12x12 --batch-size 4 --reps 2 --warmup 0 --no-layers \
    --infer-batches 16,1 --json >"$tmp/nolayers.json"
python3 - "$tmp/nolayers.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
gflop = (2 * 2 * 9 * 1 * 4 + 3 * 2 * 9 * 4 * 8) * 12 * 12 * 4 / 1e9
bad = []
if j["conv"] != []:
    bad.append("conv timed despite --no-layers")
if abs(j["train"]["conv_gflop"] - gflop) > 1e-12:
    bad.append(f"train conv_gflop {j['train']['conv_gflop']} != {gflop}")
if [e["batch"] for e in j["inference"]] != [16, 1]:
    bad.append("inference batches not as given")
for e in j["inference"]:
    if abs(e["ms_per_image"] - e["ms"] / e["batch"]) > 1e-9 * e["ms"]:
        bad.append(f"batch {e['batch']}: ms_per_image inconsistent")
if bad:
    print("NOT OK:\n  " + "\n  ".join(bad))
    sys.exit(1)
print("OK: --no-layers")
EOF

# The table form and --profile (per-op breakdown on stderr) run too; so does --help.
"$PIXLOC" bench --channels 4,8 --size 12x12 --batch-size 4 --reps 1 --warmup 0 --profile \
    >"$tmp/table.txt" 2>"$tmp/profile.txt"
grep -q "^training" "$tmp/table.txt"
grep -q "conv1.bwd_w" "$tmp/profile.txt"
"$PIXLOC" bench --help >"$tmp/help.txt"
grep -q -- "--reps" "$tmp/help.txt"

expect_usage() {
    local rc=0
    "$PIXLOC" bench "$@" >/dev/null 2>&1 || rc=$?
    if [ "$rc" != 2 ]; then
        echo "NOT OK: 'pixloc bench $*' exited $rc, expected 2"
        exit 1
    fi
}
expect_usage --bogus
expect_usage --reps 0
expect_usage --reps
expect_usage --batch-size abc
expect_usage --size 12
expect_usage --channels 4,,8
expect_usage stray
echo "OK: bad flags exit 2"
