#!/usr/bin/env bash
# Side-by-side benchmark of the seed network on this machine, in one run:
#   (a) pixloc (OpenCL, the default device): `pixloc bench --json` -- training step at
#       batch 64 (samples/s), inference at 64 and 256 (images/s), each 3x3 conv's GFLOP/s;
#   (b) the same model in TensorFlow-Keras (tensorflow-cpu, NHWC) and in PyTorch (CPU;
#       NCHW and channels_last both measured, the faster reported), 2 threads each,
#       training step = forward + MSE + backward + Adam, inference in eval mode;
#   (c) the machine's limit: OpenBLAS sgemm (2 threads) on the GEMM shapes of the two
#       largest convolutions (64->128: M=128 N=64*2500 K=576; 128->64: M=64 N=160000
#       K=1152) and on 2048^3.
# Every figure is the median of $REPS repetitions after $WARMUP untimed ones.
#
# Usage (from anywhere; NOT run by CI):
#   bash bench/compare.sh
# Environment: REPS [5], WARMUP [2], THREADS [2],
#   PIXLOC [build/pixloc; configured and built with cmake first if PIXLOC is not given].
# Writes bench/results.json (every figure, versions, machine, load averages) and
# bench/results.md (tables for the README), and prints the summary.
#
# First run: creates bench/.venv/torch and bench/.venv/tf (git-ignored) with pinned
# wheels from PyPI: torch's PyPI wheel pulls the CUDA libraries (~3 GB; about 4 min
# here), tensorflow-cpu about 0.6 GB. Needs Debian's libopenblas-dev (installed with
# apt-get when missing) and python3-venv. The machine is shared and noisy: compare
# figures within one run only; load averages per stage are recorded.
set -euo pipefail

TORCH_VERSION=2.15.0
TF_VERSION=2.21.0
REPS=${REPS:-5}
WARMUP=${WARMUP:-2}
THREADS=${THREADS:-2}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
VENV=$BENCH/.venv
OUT=$VENV/out
mkdir -p "$OUT"
cd "$ROOT"

say() { printf '== %s\n' "$*" >&2; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }
# A load gauge around every stage: a few seconds of sgemm on the 64->128 conv shape
# (GFLOP/s available to 2 threads right then; compare with the idle figure).
probe() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$THREADS" "$VENV/sgemm" probe; }
declare -A LOAD_BEFORE LOAD_AFTER SECONDS_TAKEN PROBE_BEFORE PROBE_AFTER
stage() { # stage NAME OUTFILE CMD... : runs CMD >OUTFILE, recording load and wall time
    local name=$1 out=$2 t0
    shift 2
    LOAD_BEFORE[$name]=$(loadavg)
    PROBE_BEFORE[$name]=$(probe)
    t0=$(date +%s.%N)
    "$@" >"$out"
    SECONDS_TAKEN[$name]=$(echo "$(date +%s.%N) - $t0" | bc)
    LOAD_AFTER[$name]=$(loadavg)
    PROBE_AFTER[$name]=$(probe)
}

# --- setup -----------------------------------------------------------------------
SETUP_S=()
if [ -z "${PIXLOC:-}" ]; then
    PIXLOC=$ROOT/build/pixloc
    say "building pixloc (build/)"
    [ -f build/CMakeCache.txt ] || cmake -S . -B build >/dev/null
    cmake --build build -j2 --target pixloc >/dev/null
fi
if ! "$PIXLOC" bench --help >/dev/null 2>&1; then
    echo "compare.sh: '$PIXLOC bench' does not run (is host/cmd_bench.c linked?)" >&2
    exit 1
fi

if [ ! -f /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h ]; then
    say "installing libopenblas-dev"
    apt-get install -y -q libopenblas-dev bc >/dev/null
fi
command -v bc >/dev/null || apt-get install -y -q bc >/dev/null
cc -O2 -Wall -Wextra "$BENCH/sgemm.c" -I/usr/include/x86_64-linux-gnu/openblas-pthread \
    -L/usr/lib/x86_64-linux-gnu/openblas-pthread -lopenblas -o "$VENV/sgemm"

make_venv() { # make_venv DIR PACKAGE==VERSION...
    local dir=$1 t0
    shift
    local have=""
    [ -x "$dir/bin/pip" ] && have=$("$dir/bin/pip" show "${1%%==*}" 2>/dev/null | sed -n 's/^Version: //p')
    [ "$have" = "${1##*==}" ] && return
    say "creating $dir with $* (large download, several minutes)"
    t0=$(date +%s)
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q --upgrade pip
    "$dir/bin/pip" install -q "$@"
    SETUP_S+=("\"$(basename "$dir")\": $(($(date +%s) - t0))")
}
make_venv "$VENV/torch" "torch==$TORCH_VERSION" numpy
make_venv "$VENV/tf" "tensorflow-cpu==$TF_VERSION"

# --- measurements ----------------------------------------------------------------
ARGS=(--reps "$REPS" --warmup "$WARMUP")
# A batch-1 pass first fills the compiled-kernel caches (pixloc's and PoCL's; kernel builds
# do not depend on the batch), so startup_s below is the warm-cache start-up.
"$PIXLOC" bench --json --reps 1 --warmup 0 --batch-size 1 --infer-batches 1 >/dev/null 2>&1
say "pixloc bench (reps $REPS, warm-up $WARMUP)"
stage pixloc "$OUT/pixloc.json" "$PIXLOC" bench --json "${ARGS[@]}"

say "PyTorch $TORCH_VERSION ($THREADS threads)"
stage pytorch "$OUT/pytorch.json" env OMP_NUM_THREADS="$THREADS" \
    "$VENV/torch/bin/python" "$BENCH/torch_bench.py" --threads "$THREADS" "${ARGS[@]}"

say "TensorFlow-Keras $TF_VERSION ($THREADS threads)"
stage tensorflow "$OUT/tensorflow.json" env OMP_NUM_THREADS="$THREADS" \
    "$VENV/tf/bin/python" "$BENCH/tf_bench.py" --threads "$THREADS" "${ARGS[@]}"

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set on this workplace (for older OpenBLAS
# builds); they are unset for this command alone, and the core type OpenBLAS then
# detects is recorded (openblas_get_corename).
say "OpenBLAS sgemm ($THREADS threads)"
stage openblas "$OUT/openblas.json" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$THREADS" \
    "$VENV/sgemm" "$REPS" "$WARMUP"

# --- results ---------------------------------------------------------------------
{
    echo "{"
    echo "  \"setup_s\": {$(IFS=,; echo "${SETUP_S[*]:-}")},"
    echo "  \"env_openblas_coretype\": \"${OPENBLAS_CORETYPE:-}\","
    echo "  \"env_openblas_l2_size\": \"${OPENBLAS_L2_SIZE:-}\","
    echo "  \"numpy_torch_venv\": \"$("$VENV/torch/bin/python" -c 'import numpy; print(numpy.__version__)')\","
    echo "  \"numpy_tf_venv\": \"$("$VENV/tf/bin/python" -c 'import numpy; print(numpy.__version__)')\","
    echo "  \"openblas_deb\": \"$(dpkg-query -W -f '${Version}' libopenblas0-pthread 2>/dev/null || true)\","
    echo "  \"stages\": {"
    first=1
    for s in pixloc pytorch tensorflow openblas; do
        [ $first = 1 ] || echo ","
        first=0
        printf '    "%s": {"load_before": %s, "load_after": %s, "sgemm_probe_before": %s, "sgemm_probe_after": %s, "wall_s": %s}' \
            "$s" "${LOAD_BEFORE[$s]}" "${LOAD_AFTER[$s]}" "${PROBE_BEFORE[$s]}" "${PROBE_AFTER[$s]}" "${SECONDS_TAKEN[$s]}"
    done
    echo
    echo "  }"
    echo "}"
} >"$OUT/run.json"

python3 "$BENCH/summarize.py" "$OUT" "$BENCH/results.json" "$BENCH/results.md" \
    --reps "$REPS" --warmup "$WARMUP" --threads "$THREADS"
