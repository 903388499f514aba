#!/usr/bin/env bash
# On a cold cache, predict and eval have a child process (`pixloc __prewarm`) compile the
# inference kernels, so that LLVM's working memory never enters the parent (include/cli/prewarm.h).
# Checks: the child at batch 8 leaves PoCL nothing to compile for the parent at batches 64 and 1
# (no new kernel in PoCL's cache, no pixloc cache miss); predictions and metrics are those of an
# in-process compile; the marker stops a second child; the child's failure falls back to
# compiling in-process; PIXLOC_PREWARM=0 and --no-kernel-cache turn it off.
# Usage: bash tests/cli_prewarm.sh path/to/pixloc
. "$(dirname "$0")/lib_cli.sh"

plat=$("$PX" devices 2>/dev/null | grep -c "Portable Computing Language")
[ "${PIXLOC_DEVICE_TYPE:-}" = gpu ] || [ "$plat" -eq 0 ] && cli_skip "prewarming runs only on PoCL's CPU device"

"$PX" train --samples 64 --size 20x20 --channels 4,8 --epochs 1 --batch-size 16 --no-report --quiet --out run \
    >train.log 2>&1 || { cat train.log; exit 1; }
"$PX" generate --samples 150 --size 20x20 --seed 5 --out d.safetensors >/dev/null || exit 1
"$PX" generate --samples 1 --size 20x20 --seed 6 --png png/ --out one.safetensors >/dev/null || exit 1
png=$(ls png/*.png | head -1)

# Fresh caches for one experiment: pixloc's in $1, PoCL's in $1/pocl.
fresh() { rm -rf "$1"; mkdir -p "$1/pocl"; export PIXLOC_CACHE_DIR=$T/$1 POCL_CACHE_DIR=$T/$1/pocl; }
# PoCL's compiled kernels: one .so per kernel and local size (its cache also holds empty temp files).
pocl_files() { find "$POCL_CACHE_DIR" -name '*.so' | wc -l; }

# The reference: compiled in-process.
fresh ref
PIXLOC_PREWARM=0 PIXLOC_CACHE_DEBUG=1 "$PX" predict --model run --batch-size 64 d.safetensors >ref.csv 2>ref.err ||
    { cat ref.err; exit 1; }
check "PIXLOC_PREWARM=0: no child" bash -c '! grep -q "prewarm:" ref.err'
check "PIXLOC_PREWARM=0: the parent compiles (cache misses)" grep -q "kernel cache MISS" ref.err
PIXLOC_PREWARM=0 "$PX" eval --model run --data d.safetensors --json >ref.json 2>/dev/null || exit 1
PIXLOC_PREWARM=0 "$PX" predict --model run "$png" >ref1.csv 2>/dev/null || exit 1

# The child alone at batch 8, then the parent at 64 (150 = 2 x 64 + 22) and at 1 with it off.
fresh a
"$PX" __prewarm run/best.safetensors 20x20 8 plain 2>child.err || { cat child.err; exit 1; }
n0=$(pocl_files)
check "the child filled PoCL's cache" [ "$n0" -gt 0 ]
PIXLOC_PREWARM=0 PIXLOC_CACHE_DEBUG=1 "$PX" predict --model run --batch-size 64 d.safetensors >a.csv 2>a.err || exit 1
check "after the child, batch 64: no pixloc cache miss" bash -c '! grep -q "kernel cache MISS" a.err'
check "after the child, batch 64: PoCL compiled nothing ($n0 -> $(pocl_files) files)" [ "$(pocl_files)" -eq "$n0" ]
PIXLOC_PREWARM=0 "$PX" predict --model run --batch-size 1 d.safetensors >a1.csv 2>/dev/null || exit 1
check "after the child, batch 1: PoCL compiled nothing" [ "$(pocl_files)" -eq "$n0" ]
check "batch 64 after the child: the in-process predictions" cmp -s a.csv ref.csv
check "batch 1: the same predictions" cmp -s a1.csv ref.csv

# predict as users run it: the child first, then every program from the cache.
fresh b
PIXLOC_CACHE_DEBUG=1 "$PX" predict --model run --batch-size 64 d.safetensors >b.csv 2>b.err || { cat b.err; exit 1; }
check "cold predict runs the child" grep -q "prewarm: child compiled the inference kernels" b.err
check "cold predict: no cache miss after the child" \
    bash -c "sed -n '/prewarm: child compiled/,\$p' b.err | grep -q 'kernel cache MISS' && exit 1 || exit 0"
check "cold predict: the in-process predictions" cmp -s b.csv ref.csv
check "a marker is left in pixloc's cache" bash -c 'ls "$PIXLOC_CACHE_DIR" | grep -q "^prewarm-"'
PIXLOC_CACHE_DEBUG=1 "$PX" predict --model run --batch-size 32 d.safetensors >b2.csv 2>b2.err || exit 1
check "warm (another batch): no second child" bash -c '! grep -q "prewarm:" b2.err'
"$PX" eval --model run --data d.safetensors --json >b.json 2>/dev/null || exit 1
check "eval: the in-process metrics" cmp -s b.json ref.json
PIXLOC_CACHE_DEBUG=1 "$PX" eval --model run --data d.safetensors --tta --json >/dev/null 2>tta.err || exit 1
check "--tta is another key: a child" grep -q "prewarm: child compiled" tta.err

# eval cold, and a PNG at batch 1.
fresh c
PIXLOC_CACHE_DEBUG=1 "$PX" eval --model run --data d.safetensors --json >c.json 2>c.err || exit 1
check "cold eval runs the child" grep -q "prewarm: child compiled" c.err
check "cold eval: the in-process metrics" cmp -s c.json ref.json
fresh d
PIXLOC_CACHE_DEBUG=1 "$PX" predict --model run "$png" >d1.csv 2>d1.err || exit 1
check "cold predict of a PNG runs the child" grep -q "prewarm: child compiled" d1.err
check "the PNG's prediction" cmp -s d1.csv ref1.csv

# The child fails: the parent compiles in-process, same output, no marker.
fresh e
PIXLOC_TEST_PREWARM_FAIL=1 PIXLOC_CACHE_DEBUG=1 "$PX" predict --model run --batch-size 64 d.safetensors >e.csv \
    2>e.err
check "a failed child: exit 0" [ $? -eq 0 ]
check "a failed child: said so (with PIXLOC_CACHE_DEBUG)" grep -q "prewarm: child failed; compiling in this process" e.err
check "a failed child: the same predictions" cmp -s e.csv ref.csv
check "a failed child: no marker" bash -c '! ls "$PIXLOC_CACHE_DIR" | grep -q "^prewarm-"'
PIXLOC_TEST_PREWARM_FAIL=1 "$PX" predict --model run --batch-size 64 d.safetensors >/dev/null 2>e2.err
check "a failed child: nothing on stderr without PIXLOC_CACHE_DEBUG" [ ! -s e2.err ]

# Off with the cache off.
fresh f
PIXLOC_CACHE_DEBUG=1 "$PX" predict --no-kernel-cache --model run --batch-size 64 d.safetensors >f.csv 2>f.err || exit 1
check "--no-kernel-cache: no child" bash -c '! grep -q "prewarm:" f.err'
check "--no-kernel-cache: the same predictions" cmp -s f.csv ref.csv
cli_summary
