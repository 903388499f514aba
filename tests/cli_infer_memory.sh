#!/usr/bin/env bash
# Peak resident memory of `pixloc predict` on a 4000-image dataset stays within what
# inference needs: the inference network's two ping-pong activation buffers (and its
# heatmap/staging buffers) at the batch, plus the same process at batch 1 on a
# 16-image file (the runtime, the programs), plus a small slack for host batch buffers.
# Training buffers (gradients, one activation buffer per layer, weight-gradient
# partials: ~4x the ping-pong pair here) or a dataset held in memory twice (2 x 40 MB)
# each exceed the slack. Peak RSS is read with getrusage(RUSAGE_CHILDREN), which is what
# /usr/bin/time -v reports as "Maximum resident set size".
# Usage: bash tests/cli_infer_memory.sh path/to/pixloc
. "$(dirname "$0")/lib_cli.sh"

# Under AddressSanitizer the resident size is ASan's (shadow memory, the freed-memory
# quarantine, redzones), not pixloc's: the budget means nothing there.
if nm "$PX" 2>/dev/null | grep ' __asan_init$' >/dev/null; then # (not -q: nm's SIGPIPE under pipefail)
    cli_skip "peak RSS is not measurable in a sanitizer build (ASan's shadow and quarantine)"
fi

CH=8,32,8 B=256 H=50 W=50 SLACK_MB=24
"$PX" train --samples 64 --size ${H}x${W} --channels $CH --epochs 1 --batch-size 32 --no-report --quiet --out run \
    >train.log 2>&1 || { cat train.log; exit 1; }
"$PX" generate --samples 4000 --seed 5 --out big.safetensors >/dev/null || exit 1
"$PX" generate --samples 16 --seed 6 --out small.safetensors >/dev/null || exit 1

# Peak RSS (KiB) of one command, its output discarded.
peak_kib() {
    python3 -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
if r.returncode: sys.exit("exit status %d: %s" % (r.returncode, " ".join(sys.argv[1:])))
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

# Warm the program cache first: building programs (LLVM in the process) is not what is measured.
"$PX" predict --model run small.safetensors >/dev/null || exit 1
base=$(peak_kib "$PX" predict --model run --batch-size 1 small.safetensors) || exit 1
peak=$(peak_kib "$PX" predict --model run --batch-size $B big.safetensors) || exit 1

# The inference plan at batch B (include/nn/layout.h, host/nn/net.c): buffer A holds the input
# and the outputs of blocks 1, 3, ... (here max(1, 32) channels), B those of blocks 0, 2, ...
# (max(8, 8)); each (2*margin + B*C*(H+2)*(W+2)) floats; heatmaps and staging images B*H*W each.
read -r budget_kib plan_mib <<<"$(python3 -c "
B, H, W, slack = $B, $H, $W, $SLACK_MB
margin = ((W + 2 + 1 + 32) + 15) // 16 * 16
act = lambda c: (2 * margin + B * c * (H + 2) * (W + 2)) * 4
plan = act(32) + act(8) + 2 * B * H * W * 4
print(($base * 1024 + plan + slack * 2**20) // 1024, round(plan / 2**20, 1))")"
echo "batch 1 on 16 images: $((base / 1024)) MiB; batch $B on 4000 images: $((peak / 1024)) MiB;" \
    "inference plan ${plan_mib} MiB; budget $((budget_kib / 1024)) MiB"
check "peak RSS of predict at batch $B ($((peak / 1024)) MiB) within batch-1 + plan + ${SLACK_MB} MiB" \
    [ "$peak" -le "$budget_kib" ]
# The same for eval (streamed data, baselines in chunks).
epeak=$(peak_kib "$PX" eval --model run --data big.safetensors --batch-size $B) || exit 1
check "peak RSS of eval at batch $B ($((epeak / 1024)) MiB) within the same budget" [ "$epeak" -le "$budget_kib" ]
cli_summary
