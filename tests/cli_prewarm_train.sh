#!/usr/bin/env bash
# On a cold cache, train has a second process (`pixloc __prewarm-train`) compile the training
# step's programs and kernels in the opposite order (include/cli/prewarm.h). Checks: the child
# alone compiles exactly the kernels, with the same work-group specialisations, that a training
# run compiles up to its first whole step, so that after the child that run compiles nothing; a
# run with the child trains the model of a run without it, to the bit; the child leaves a marker,
# which stops a second child; a run with nothing to train starts none; a failed child
# changes nothing but the marker; PIXLOC_PREWARM=0 turns it off.
# Usage: bash tests/cli_prewarm_train.sh path/to/pixloc
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib_cli.sh"

plat=$("$PX" devices 2>/dev/null | grep -c "Portable Computing Language")
[ "${PIXLOC_DEVICE_TYPE:-}" = gpu ] || [ "$plat" -eq 0 ] && cli_skip "prewarming runs only on PoCL's CPU device"
[ "$(nproc)" -ge 2 ] || cli_skip "the training child runs only with 2 or more compute units"

# Fresh caches for one experiment: pixloc's in $1, PoCL's in $1/pocl.
fresh() { rm -rf "$1"; mkdir -p "$1/pocl"; export PIXLOC_CACHE_DIR=$T/$1 POCL_CACHE_DIR=$T/$1/pocl; }
# PoCL's compiled kernels: program hash / kernel / work-group specialisation.
pocl_set() { (cd "$POCL_CACHE_DIR" && find . -name '*.so' | sort); }
# A run long enough (1000 steps of a tiny network) to be killed right after its first whole step,
# well before the end of its epoch: what PoCL compiled for the training step alone.
STEP=(train --samples 20000 --size 20x20 --channels 4,8 --batch-size 16 --epochs 1 --no-report)
first_step() {
    "${PX}" "${STEP[@]}" --out "$1" 2>"$1.err" &
    local p=$!
    while ! grep -q "first step done" "$1.err" 2>/dev/null; do
        kill -0 $p 2>/dev/null || break
        sleep 0.02
    done
    kill -9 $p 2>/dev/null
    wait $p 2>/dev/null
    grep -q "first step done" "$1.err"
}
# Waits up to 60 s for a child's marker in pixloc's cache.
wait_for_marker() {
    for _ in $(seq 600); do
        ls "$PIXLOC_CACHE_DIR" | grep -q "^prewarm-" && return 0
        sleep 0.1
    done
    return 1
}

# The reference: what a run without the child compiles up to its first step.
fresh a
export PIXLOC_PREWARM=0
first_step sa
check "a run without the child reaches its first step" [ $? -eq 0 ]
unset PIXLOC_PREWARM
pocl_set >a.set
check "... having compiled kernels ($(wc -l <a.set))" [ -s a.set ]
settings=$(cat sa/config.json)

# The child alone, then the same run.
fresh b
"$PX" __prewarm-train "$settings" 20x20 16 "$T/b.marker" 2>child.err
check "the child alone: exit 0" [ $? -eq 0 ]
check "the child alone: its marker" [ -e b.marker ]
pocl_set >b.set
check "the child compiled exactly the first step's kernels ($(wc -l <b.set) against $(wc -l <a.set))" cmp -s a.set b.set
export PIXLOC_PREWARM=0
first_step sb
check "after the child, the run reaches its first step" [ $? -eq 0 ]
unset PIXLOC_PREWARM
pocl_set >b2.set
check "... and PoCL compiled nothing more on the way" cmp -s b.set b2.set

# Training as users run it: the child starts, the model is the one trained without it.
TRAIN=(train --samples 300 --size 20x20 --channels 4,8 --batch-size 16 --epochs 2 --no-report --quiet)
fresh ref
PIXLOC_PREWARM=0 PIXLOC_CACHE_DEBUG=1 "$PX" "${TRAIN[@]}" --out ref 2>ref.err || { cat ref.err; exit 1; }
check "PIXLOC_PREWARM=0: no child" bash -c '! grep -q "prewarm:" ref.err'
fresh c
PIXLOC_CACHE_DEBUG=1 "$PX" "${TRAIN[@]}" --out c 2>c.err || { cat c.err; exit 1; }
check "cold training starts the child" grep -q "prewarm: a child compiles the training step" c.err
check "with the child: the model trained without it" python3 "$HERE/ckpt_same.py" ref/last.safetensors \
    c/last.safetensors --tensors-only
check "the child leaves a marker in pixloc's cache" wait_for_marker
PIXLOC_CACHE_DEBUG=1 "$PX" "${TRAIN[@]}" --out c2 2>c2.err || exit 1
check "warm: no second child" bash -c '! grep -q "prewarm:" c2.err'
PIXLOC_CACHE_DEBUG=1 "$PX" "${TRAIN[@]}" --batch-size 8 --out c3 2>c3.err || exit 1
check "another batch is another key: a child" grep -q "prewarm: a child compiles" c3.err

# A finished run resumed on a cold cache has no step to train: it says so before any device
# work, so no child starts (and none leaves a marker).
fresh f
cp -r ref fin
PIXLOC_CACHE_DEBUG=1 "$PX" train --resume fin --quiet >fin.out 2>fin.err
check "a finished run resumed: exit 0, nothing to do" grep -q "nothing to do" fin.out
check "... without starting a child" bash -c '! grep -q "prewarm:" fin.err'
check "... or building a program" bash -c '! grep -q "cache MISS" fin.err'
sleep 1
check "... and no marker" bash -c '! ls "$PIXLOC_CACHE_DIR" | grep -q "^prewarm-"'

# The child fails: the run is unchanged, and no marker says the kernels are compiled.
fresh e
PIXLOC_TEST_PREWARM_FAIL=1 "$PX" "${TRAIN[@]}" --out e 2>e.err
check "a failed child: exit 0" [ $? -eq 0 ]
check "a failed child: the same model" python3 "$HERE/ckpt_same.py" ref/last.safetensors e/last.safetensors \
    --tensors-only
sleep 1
check "a failed child: no marker" bash -c '! ls "$PIXLOC_CACHE_DIR" | grep -q "^prewarm-"'
cli_summary
