#!/usr/bin/env bash
# Side-by-side benchmark of pixloc and its peers on this machine, in one run, with
# the frameworks interleaved so that drift on a shared machine cancels in the ratios.
#
# Networks: the seed's (32,64,128,64,32) and the default preset's (16,32,64,32,16).
# For each: a training step at batch 64 (samples/s), inference at batch 256 (images/s)
# and at batch 1 (ms per image: the latency of one image).
#
# ROUNDS rounds; each round runs, for each network, every peer once, in turn:
#   pixloc       `pixloc bench --json --no-layers` (OpenCL, the default device)
#   pytorch      bench/torch_bench.py (CPU; NCHW and channels_last, the faster kept)
#   tensorflow   bench/tf_bench.py (tensorflow-cpu, Keras, NHWC)
#   onnxruntime  bench/onnxruntime_bench.py on the network exported by `pixloc export
#                --onnx` (inference only), when both exist
# Each peer reports its own median of REPS repetitions after WARMUP untimed ones, in
# its own fresh process. The summary gives, per network and figure, the per-round
# ratios pixloc/peer and their median (bench/summarize.py). A peer is one script
# printing JSON in the shape of torch_bench.py (--channels, --batch, --infer, --reps,
# --warmup, --threads); adding one is one more entry in PEERS below.
#
# Beside them, the machine's limits, measured once per run:
#   fma_peak     bench/fma_peak.c: independent FMA chains on the widest vectors
#                (-march=native), THREADS threads and one: the physical float32 peak;
#   openblas     bench/sgemm.c: OpenBLAS sgemm, THREADS threads, on the seed's two largest
#                conv GEMM shapes and on 2048^3, with the core type OpenBLAS detects and,
#                when that lacks the CPU's widest ISA (OpenBLAS 0.3.21 falls back to
#                Prescott on recent Xeons), again with a matching OPENBLAS_CORETYPE
#                (SkylakeX for AVX-512, Haswell for AVX2, Zen for AVX2 on AMD); the limit
#                is the better of the two, both recorded;
#   pixloc layers one `pixloc bench --json` of the seed network with its per-layer conv
#                timings (GFLOP/s), compared with sgemm on the same GEMM shapes.
#
# Usage (from anywhere; NOT run by CI):
#   bash bench/compare.sh
# Environment: ROUNDS [5], REPS [5], WARMUP [2], THREADS [2], PEERS [pixloc pytorch
#   tensorflow onnxruntime], NETS [seed default],
#   PIXLOC [build/pixloc; configured and built with cmake first if PIXLOC is not given].
# Writes bench/runs/<UTC time>.json (every figure of every round, versions, machine,
# load averages), copies it to bench/results.json, writes bench/results.md (tables
# for the README) and prints the summary.
#
# First run: creates bench/.venv/torch, bench/.venv/tf and (with the ONNX peer)
# bench/.venv/ort, git-ignored, with pinned wheels from PyPI: torch's PyPI wheel pulls
# the CUDA libraries (~3 GB; about 4 min here), tensorflow-cpu about 0.6 GB. Needs
# Debian's libopenblas-dev and bc (installed with apt-get when missing) and python3-venv.
set -euo pipefail

TORCH_VERSION=2.15.0
TF_VERSION=2.21.0
ORT_VERSION=1.32.0
NUMPY_VERSION=2.4.6
ROUNDS=${ROUNDS:-5}
REPS=${REPS:-5}
WARMUP=${WARMUP:-2}
THREADS=${THREADS:-2}
PEERS=${PEERS:-pixloc pytorch tensorflow onnxruntime}
NETS=${NETS:-seed default}
TRAIN_BATCH=64
INFER_BATCHES=256,1
declare -A CHANNELS=([seed]=32,64,128,64,32 [default]=16,32,64,32,16)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
VENV=$BENCH/.venv
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$VENV/out/$STAMP
mkdir -p "$OUT" "$BENCH/runs"
cd "$ROOT"

say() { printf '== %s\n' "$*" >&2; }
for n in $NETS; do
    [ -n "${CHANNELS[$n]:-}" ] || { echo "compare.sh: NETS: unknown network '$n' (seed, default)" >&2; exit 2; }
done

# --- setup -----------------------------------------------------------------------
if [ -z "${PIXLOC:-}" ]; then
    PIXLOC=$ROOT/build/pixloc
    say "building pixloc (build/)"
    [ -f build/CMakeCache.txt ] || cmake -S . -B build >/dev/null
    cmake --build build -j2 --target pixloc >/dev/null
fi
if ! "$PIXLOC" bench --help 2>/dev/null | grep -q -- --no-layers; then
    echo "compare.sh: '$PIXLOC bench' does not run or lacks --no-layers (rebuild pixloc)" >&2
    exit 1
fi
if [ ! -f /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h ] || ! command -v bc >/dev/null; then
    say "installing libopenblas-dev bc"
    apt-get install -y -q libopenblas-dev bc >/dev/null
fi
cc -O2 -Wall -Wextra "$BENCH/sgemm.c" -I/usr/include/x86_64-linux-gnu/openblas-pthread \
    -L/usr/lib/x86_64-linux-gnu/openblas-pthread -lopenblas -o "$VENV/sgemm"
cc -O2 -march=native -pthread -Wall -Wextra "$BENCH/fma_peak.c" -o "$VENV/fma_peak"
# The peak is only a peak if every chain is one fused multiply-add. (The listing goes to a variable
# first: `objdump | grep -q` under pipefail failed whenever grep stopped reading early, SIGPIPE,
# and so warned on the Xeon that had 12 FMAs in its loop.)
FMA_LISTING=$(objdump -d "$VENV/fma_peak")
if ! grep -q vfmadd <<<"$FMA_LISTING"; then
    echo "compare.sh: bench/fma_peak.c compiled without FMA instructions (no FMA on this CPU?)" >&2
fi

SETUP_S=()
make_venv() { # make_venv DIR PACKAGE==VERSION...
    local dir=$1 t0 have=""
    shift
    [ -x "$dir/bin/pip" ] && have=$("$dir/bin/pip" show "${1%%==*}" 2>/dev/null | sed -n 's/^Version: //p')
    [ "${have%%+*}" = "${1##*==}" ] && return
    say "creating $dir with $* (large download, several minutes)"
    t0=$(date +%s)
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q --upgrade pip
    "$dir/bin/pip" install -q "$@"
    SETUP_S+=("\"$(basename "$dir")\": $(($(date +%s) - t0))")
}
has_peer() { [[ " $PEERS " == *" $1 "* ]]; }
has_peer pytorch && make_venv "$VENV/torch" "torch==$TORCH_VERSION" "numpy==$NUMPY_VERSION"
has_peer tensorflow && make_venv "$VENV/tf" "tensorflow-cpu==$TF_VERSION"

# The ONNX peer needs its script, `pixloc export --onnx` and a model per network: a
# one-epoch training on a few samples (the weights do not matter for speed).
ORT_NOTE=""
if has_peer onnxruntime; then
    if [ ! -f "$BENCH/onnxruntime_bench.py" ]; then
        ORT_NOTE="bench/onnxruntime_bench.py is missing"
    elif ! "$PIXLOC" export --help 2>/dev/null | grep -q -- --onnx; then
        ORT_NOTE="this pixloc has no 'export --onnx'"
    else
        make_venv "$VENV/ort" "onnxruntime==$ORT_VERSION" "numpy==$NUMPY_VERSION"
        for n in $NETS; do
            say "ONNX model of the $n network (one short training, then pixloc export)"
            rm -rf "$OUT/model-$n"
            if ! "$PIXLOC" train --quiet --channels "${CHANNELS[$n]}" --epochs 1 --samples 256 --out "$OUT/model-$n" \
                >"$OUT/model-$n.log" 2>&1 ||
                ! "$PIXLOC" export --model "$OUT/model-$n" --onnx "$OUT/$n.onnx" >>"$OUT/model-$n.log" 2>&1; then
                ORT_NOTE="making the ONNX model failed (see $OUT/model-$n.log)"
                break
            fi
        done
    fi
    if [ -n "$ORT_NOTE" ]; then
        say "onnxruntime skipped: $ORT_NOTE"
        PEERS=$(echo " $PEERS " | sed 's/ onnxruntime / /')
    fi
fi

# A batch-1 pass fills the compiled-kernel caches (pixloc's and PoCL's) for each network,
# so that no round pays kernel builds and startup_s is the warm start-up.
for n in $NETS; do
    "$PIXLOC" bench --json --reps 1 --warmup 0 --batch-size 1 --infer-batches 1 --no-layers \
        --channels "${CHANNELS[$n]}" >/dev/null 2>&1
done

# --- one peer, one network -------------------------------------------------------
# run_peer PEER NET OUTFILE
run_peer() {
    local peer=$1 net=$2 out=$3 ch=${CHANNELS[$2]}
    local args=(--channels "$ch" --batch "$TRAIN_BATCH" --infer "$INFER_BATCHES" --reps "$REPS" --warmup "$WARMUP"
        --threads "$THREADS")
    case $peer in
    pixloc)
        "$PIXLOC" bench --json --no-layers --channels "$ch" --batch-size "$TRAIN_BATCH" --infer-batches "$INFER_BATCHES" \
            --reps "$REPS" --warmup "$WARMUP" >"$out" ;;
    pytorch)
        env OMP_NUM_THREADS="$THREADS" "$VENV/torch/bin/python" "$BENCH/torch_bench.py" "${args[@]}" >"$out" ;;
    tensorflow)
        env OMP_NUM_THREADS="$THREADS" "$VENV/tf/bin/python" "$BENCH/tf_bench.py" "${args[@]}" >"$out" ;;
    onnxruntime)
        env OMP_NUM_THREADS="$THREADS" "$VENV/ort/bin/python" "$BENCH/onnxruntime_bench.py" --onnx "$OUT/$net.onnx" \
            --infer "$INFER_BATCHES" --reps "$REPS" --warmup "$WARMUP" --threads "$THREADS" >"$out" ;;
    *) echo "compare.sh: unknown peer '$peer'" >&2; exit 2 ;;
    esac
}

loadavg() { cut -d' ' -f1 /proc/loadavg; }
STAGES=$OUT/stages.tsv # round, network, peer, load before, load after, wall seconds
: >"$STAGES"
for r in $(seq 1 "$ROUNDS"); do
    for n in $NETS; do
        mkdir -p "$OUT/round$r/$n"
        for p in $PEERS; do
            say "round $r/$ROUNDS: $n network, $p"
            l0=$(loadavg)
            t0=$(date +%s.%N)
            run_peer "$p" "$n" "$OUT/round$r/$n/$p.json"
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$n" "$p" "$l0" "$(loadavg)" \
                "$(echo "$(date +%s.%N) - $t0" | bc)" >>"$STAGES"
        done
    done
done

# --- the machine's limits ----------------------------------------------------------
say "FMA peak ($THREADS threads and 1)"
"$VENV/fma_peak" "$THREADS" "$REPS" >"$OUT/fma_peak.json"

# The core type OpenBLAS should use: the CPU's widest ISA (from /proc/cpuinfo).
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
vendor=$(grep -m1 '^vendor_id' /proc/cpuinfo | sed 's/.*: *//' || true)
want="" want_isa=""
if [[ " $flags " == *" avx512f "* ]]; then
    want=SkylakeX want_isa=avx512f
elif [[ " $flags " == *" avx2 "* ]]; then
    want_isa=avx2
    if [ "$vendor" = AuthenticAMD ]; then want=Zen; else want=Haswell; fi
fi
# OpenBLAS 0.3.21 core names with AVX-512 kernels, and with AVX2 ones.
core_has() { # core_has ISA NAME
    local n=${2,,}
    case $1 in
    avx512f) [[ $n =~ ^(skylakex|cooperlake|sapphirerapids)$ ]] ;;
    avx2) [[ $n =~ ^(haswell|zen|skylakex|cooperlake|sapphirerapids)$ ]] ;;
    *) return 0 ;;
    esac
}
detected=$(env -u OPENBLAS_CORETYPE "$VENV/sgemm" corename)
say "OpenBLAS sgemm ($THREADS threads), detected core type $detected"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$THREADS" "$VENV/sgemm" "$REPS" "$WARMUP" \
    >"$OUT/openblas_detected.json"
forced=""
if [ -n "$want" ] && ! core_has "$want_isa" "$detected"; then
    forced=$want
    say "OpenBLAS's $detected lacks $want_isa: again with OPENBLAS_CORETYPE=$forced"
    env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE="$forced" OPENBLAS_NUM_THREADS="$THREADS" "$VENV/sgemm" "$REPS" \
        "$WARMUP" >"$OUT/openblas_forced.json"
fi

say "pixloc per-layer timings (seed network)"
"$PIXLOC" bench --json --channels "${CHANNELS[seed]}" --batch-size "$TRAIN_BATCH" --reps "$REPS" --warmup "$WARMUP" \
    >"$OUT/pixloc_layers.json"

# --- results ---------------------------------------------------------------------
{
    echo "{"
    echo "  \"stamp\": \"$STAMP\","
    echo "  \"setup_s\": {$(IFS=,; echo "${SETUP_S[*]:-}")},"
    echo "  \"rounds\": $ROUNDS, \"reps\": $REPS, \"warmup\": $WARMUP, \"threads\": $THREADS,"
    echo "  \"train_batch\": $TRAIN_BATCH, \"infer_batches\": [$INFER_BATCHES],"
    echo "  \"peers\": \"$(echo $PEERS)\", \"nets\": \"$(echo $NETS)\", \"onnxruntime_note\": \"$ORT_NOTE\","
    echo "  \"cpu_vendor\": \"$vendor\", \"cpu_widest_isa\": \"$want_isa\","
    echo "  \"openblas_detected_core\": \"$detected\", \"openblas_forced_core\": \"$forced\","
    echo "  \"env_openblas_coretype\": \"${OPENBLAS_CORETYPE:-}\", \"env_openblas_l2_size\": \"${OPENBLAS_L2_SIZE:-}\","
    echo "  \"openblas_deb\": \"$(dpkg-query -W -f '${Version}' libopenblas0-pthread 2>/dev/null || true)\""
    echo "}"
} >"$OUT/run.json"

python3 "$BENCH/summarize.py" "$OUT" --channels seed="${CHANNELS[seed]}" --channels default="${CHANNELS[default]}" \
    --run-json "$BENCH/runs/$STAMP.json" --json "$BENCH/results.json" --md "$BENCH/results.md"
