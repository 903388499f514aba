#!/usr/bin/env bash
# tools/gpu-check.sh [OUT_DIR]: pixloc on a real GPU, beside PyTorch on the same card.
# NOT run by CI (CI has no GPU). Run it as root on a machine with a GPU and its driver:
#   1. setup   the OpenCL ICD loader and clinfo (apt-get, only when missing). The NVIDIA
#              driver ships its own ICD (libnvidia-opencl.so.1): in a container that has
#              the library but no /etc/OpenCL/vendors/nvidia.icd, that file is written;
#   2. build   tools/setup.sh (Debian packages when missing, the release build in build/),
#              unless PIXLOC names a built binary;
#   3. devices `pixloc devices`, `clinfo -l`, and the card and driver from nvidia-smi / rocm-smi;
#   4. suite   the release CTest suite on the GPU (PIXLOC_TEST_DEVICE=gpu; the Oclgrind
#              tests, which run on Oclgrind's simulator, are left out) within a time limit;
#   5. bench   `pixloc bench --json --device-type gpu`: training at batch 64, inference at 256;
#   6. torch   PyTorch from PyPI (its Linux wheel is the CUDA build) in bench/.venv/torch
#              (installed while the suite runs), bench/torch_bench.py --device cuda with the
#              same model, batches, repetitions and warm-up (fp32, eager, TF32 off);
#   7. writes OUT_DIR/gpu-check.json: the card and driver, every figure, the pixloc/PyTorch
#              ratios, and each stage's status, seconds and the end of its log.
# A stage that fails or runs out of time is recorded and the others still run; a stage that
# needs its result is recorded as skipped. Exits 0 when the JSON was written (read its
# "stages" for failures), 1 when not. About 5 minutes on a 16-core machine with the
# packages present and PyPI reachable.
#
# Environment (defaults in brackets):
#   GPU_CHECK_DEVICE_TYPE [gpu]   pixloc's device type (cpu: a dry run on PoCL)
#   GPU_CHECK_TORCH_DEVICE [cuda] PyTorch's device (cpu: a dry run)
#   GPU_CHECK_TRAIN_BATCH [64]  GPU_CHECK_INFER_BATCH [256]  GPU_CHECK_CHANNELS [32,64,128,64,32]
#   GPU_CHECK_SIZE [50x50]  GPU_CHECK_REPS [5]  GPU_CHECK_WARMUP [2]
#   GPU_CHECK_SUITE_TIMEOUT [240] seconds for the suite (0: skip it)
#   GPU_CHECK_SUITE_ARGS ["-LE oclgrind"] more ctest arguments (e.g. "-R test_conv")
#   GPU_CHECK_PYTHON   a python that already has torch and numpy (no venv, no download)
#   GPU_CHECK_TORCH_THREADS [nproc]   TORCH_VERSION [2.15.0, as bench/compare.sh]
#   PIXLOC             a built pixloc binary (no build; the suite needs build/ and is skipped without)
# OUT_DIR: the first argument, else $OUT when set, else build/gpu-check.
# Dry run on a machine without a GPU (tiny sizes; proves the script end to end):
#   GPU_CHECK_DEVICE_TYPE=cpu GPU_CHECK_TORCH_DEVICE=cpu GPU_CHECK_CHANNELS=4,4 GPU_CHECK_SIZE=9x7 \
#     GPU_CHECK_TRAIN_BATCH=4 GPU_CHECK_INFER_BATCH=8 GPU_CHECK_SUITE_ARGS="-R test_device_rank" \
#     bash tools/gpu-check.sh /tmp/gc
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
export GPU_CHECK_DEVICE_TYPE=${GPU_CHECK_DEVICE_TYPE:-gpu}
export GPU_CHECK_TORCH_DEVICE=${GPU_CHECK_TORCH_DEVICE:-cuda}
export TB=${GPU_CHECK_TRAIN_BATCH:-64} IB=${GPU_CHECK_INFER_BATCH:-256}
export CH=${GPU_CHECK_CHANNELS:-32,64,128,64,32} SZ=${GPU_CHECK_SIZE:-50x50}
export REPS=${GPU_CHECK_REPS:-5} WARMUP=${GPU_CHECK_WARMUP:-2}
SUITE_TIMEOUT=${GPU_CHECK_SUITE_TIMEOUT:-240}
export SUITE_ARGS=${GPU_CHECK_SUITE_ARGS--LE oclgrind}
export TORCH_THREADS=${GPU_CHECK_TORCH_THREADS:-$(nproc)}
export TORCH_VERSION=${TORCH_VERSION:-2.15.0}
OUTDIR=${1:-${OUT:-$ROOT/build/gpu-check}}
mkdir -p "$OUTDIR" || exit 1
OUTDIR=$(cd "$OUTDIR" && pwd)
export W=$OUTDIR/gpu-check.work # logs and intermediate results
rm -rf "$W" && mkdir -p "$W" || exit 1
export VENV=$ROOT/bench/.venv/torch
T_START=$(date +%s)
say() { printf '== gpu-check: %s\n' "$*" >&2; }

# run_stage NAME LIMIT_S FUNCTION: runs FUNCTION (exported) with its output in $W/NAME.log
# and records "STATUS RC SECONDS" in $W/NAME.status (ok, failed, or timeout).
run_stage() {
    local name=$1 limit=$2 fn=$3 t0 rc status
    say "$name (at most ${limit} s)"
    t0=$(date +%s%N)
    timeout --kill-after=10 "$limit" bash -c "$fn" >"$W/$name.log" 2>&1
    rc=$?
    case $rc in 0) status=ok ;; 124 | 137) status=timeout ;; *) status=failed ;; esac
    local ms=$((($(date +%s%N) - t0) / 1000000))
    printf '%s %s %d.%03d\n' "$status" "$rc" $((ms / 1000)) $((ms % 1000)) >"$W/$name.status"
    [ "$status" = ok ] || say "$name: $status (exit $rc), see $W/$name.log"
    [ "$status" = ok ]
}
skip_stage() { # skip_stage NAME REASON
    echo "$2" >"$W/$1.log"
    echo "skipped 0 0" >"$W/$1.status"
    say "$1: skipped ($2)"
}

# --- 1. setup --------------------------------------------------------------------------
stage_setup() {
    set -e
    local need=()
    [ -e /usr/lib/x86_64-linux-gnu/libOpenCL.so.1 ] || ldconfig -p | grep -q 'libOpenCL.so.1 ' ||
        need+=(ocl-icd-libopencl1)
    command -v clinfo >/dev/null || need+=(clinfo)
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing ${need[*]}"
        timeout 120 apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
    fi
    # NVIDIA: the driver's OpenCL library without its ICD file (common in containers).
    if ldconfig -p | grep -q 'libnvidia-opencl.so.1 ' && ! grep -qsl nvidia /etc/OpenCL/vendors/*.icd; then
        mkdir -p /etc/OpenCL/vendors
        echo libnvidia-opencl.so.1 >/etc/OpenCL/vendors/nvidia.icd
        echo "wrote /etc/OpenCL/vendors/nvidia.icd"
    fi
    ls -l /etc/OpenCL/vendors/ || true
}
export -f stage_setup
run_stage setup 200 stage_setup

# --- 2. build --------------------------------------------------------------------------
stage_build() {
    set -e
    PIXLOC_CMAKE_FLAGS=-DCMAKE_BUILD_TYPE=Release bash tools/setup.sh
    test -x build/pixloc
}
export -f stage_build
if [ -n "${PIXLOC:-}" ]; then
    export PX=$PIXLOC
    skip_stage build "PIXLOC=$PIXLOC given"
else
    export PX=$ROOT/build/pixloc
    run_stage build 400 stage_build
fi
have_px=0
"$PX" --version >/dev/null 2>&1 && have_px=1

# --- 3. devices ------------------------------------------------------------------------
stage_devices() {
    "$PX" devices --device-type "$GPU_CHECK_DEVICE_TYPE" >"$W/devices.txt" 2>&1
    local rc=$?
    cat "$W/devices.txt"
    "$PX" devices >"$W/devices-all.txt" 2>&1
    command -v clinfo >/dev/null && clinfo -l >"$W/clinfo.txt" 2>&1
    command -v nvidia-smi >/dev/null &&
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$W/nvidia-smi.txt" 2>&1
    command -v rocm-smi >/dev/null && rocm-smi --showproductname --showdriverversion >"$W/rocm-smi.txt" 2>&1
    return $rc
}
export -f stage_devices
if [ $have_px = 1 ]; then run_stage devices 60 stage_devices; else skip_stage devices "no pixloc binary"; fi

# --- 6a. PyTorch, installed in the background while the suite runs -----------------------
stage_torch_install() {
    set -e
    if [ -n "${GPU_CHECK_PYTHON:-}" ]; then
        "$GPU_CHECK_PYTHON" -c 'import torch, numpy; print("torch", torch.__version__)'
        echo "$GPU_CHECK_PYTHON" >"$W/python.txt"
        return
    fi
    local have=""
    [ -x "$VENV/bin/pip" ] && have=$("$VENV/bin/pip" show torch 2>/dev/null | sed -n 's/^Version: //p')
    if [ "$have" != "$TORCH_VERSION" ]; then
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --retries 1 --timeout 30 "torch==$TORCH_VERSION" numpy
    fi
    "$VENV/bin/python" -c 'import torch, numpy; print("torch", torch.__version__, "cuda", torch.version.cuda)'
    echo "$VENV/bin/python" >"$W/python.txt"
}
export -f stage_torch_install
run_stage torch_install 900 stage_torch_install &
torch_install_pid=$!

# --- 4. suite --------------------------------------------------------------------------
stage_suite() {
    cd build || return 1
    # shellcheck disable=SC2086 # SUITE_ARGS is a list of ctest arguments
    PIXLOC_TEST_DEVICE=$GPU_CHECK_DEVICE_TYPE ctest -j"$(nproc)" --timeout 600 --output-on-failure $SUITE_ARGS
}
export -f stage_suite
if [ "$SUITE_TIMEOUT" = 0 ]; then
    skip_stage suite "GPU_CHECK_SUITE_TIMEOUT=0"
elif [ ! -f build/CTestTestfile.cmake ]; then
    skip_stage suite "no build/ with tests (PIXLOC given, or the build failed)"
else
    run_stage suite "$SUITE_TIMEOUT" stage_suite
fi

# --- 5. pixloc bench -------------------------------------------------------------------
stage_bench() {
    set -e
    local sel=(--device-type "$GPU_CHECK_DEVICE_TYPE" --channels "$CH" --size "$SZ")
    # One tiny pass first fills the compiled-kernel cache: the figures are warm-cache ones.
    "$PX" bench --json "${sel[@]}" --reps 1 --warmup 0 --batch-size 1 --infer-batches 1 >/dev/null
    "$PX" bench --json "${sel[@]}" --batch-size "$TB" --infer-batches "$IB" --reps "$REPS" --warmup "$WARMUP" \
        >"$W/pixloc.json"
    cat "$W/pixloc.json"
}
export -f stage_bench
if [ $have_px = 1 ]; then run_stage bench 300 stage_bench; else skip_stage bench "no pixloc binary"; fi

# --- 6b. PyTorch bench -----------------------------------------------------------------
wait "$torch_install_pid"
stage_torch() {
    set -e
    local py
    py=$(cat "$W/python.txt")
    "$py" bench/torch_bench.py --device "$GPU_CHECK_TORCH_DEVICE" --batch "$TB" --infer "$IB" --channels "$CH" \
        --size "$SZ" --reps "$REPS" --warmup "$WARMUP" --threads "$TORCH_THREADS" >"$W/torch.json"
    cat "$W/torch.json"
}
export -f stage_torch
if [ -s "$W/python.txt" ]; then run_stage torch 300 stage_torch; else skip_stage torch "no PyTorch (torch_install failed)"; fi

# --- 7. the JSON -----------------------------------------------------------------------
export TOTAL_S=$(($(date +%s) - T_START)) OUTDIR
if ! python3 - <<'PY'; then
import json, os, re

W, out = os.environ["W"], os.environ["OUTDIR"]


def text(name):
    try:
        with open(os.path.join(W, name), errors="replace") as f:
            return f.read()
    except OSError:
        return None


def js(name):
    t = text(name)
    try:
        return json.loads(t) if t else None
    except ValueError:
        return None


stages = {}
for name in ["setup", "build", "devices", "torch_install", "suite", "bench", "torch"]:
    st = (text(name + ".status") or "missing 0 0").split()
    log = text(name + ".log") or ""
    stages[name] = {"status": st[0], "exit": int(st[1]), "seconds": round(float(st[2] or 0), 1),
                    "log_tail": log[-3000:]}

suite = None
log = text("suite.log")
if log:
    m = re.search(r"(\d+)% tests passed, (\d+) tests failed out of (\d+)", log)
    suite = {"passed_percent": int(m.group(1)), "failed": int(m.group(2)), "total": int(m.group(3))} if m else {}
    suite["failed_tests"] = re.findall(r"^\s*\d+ - (\S+) \((?:Failed|Timeout|SEGFAULT|Exception|Child aborted)", log, re.M)
    suite["skipped_tests"] = re.findall(r"Test\s+#\d+: (\S+) \.+\s*\*+Skipped", log)
    suite["device"] = os.environ.get("GPU_CHECK_DEVICE_TYPE")

px, pt = js("pixloc.json"), js("torch.json")
card = {"pixloc_device": px.get("device") if px else None, "pixloc_driver": px.get("driver") if px else None,
        "platform": px.get("platform_version") if px else None,
        "torch_device": pt.get("device_name") if pt else None, "nvidia_smi": (text("nvidia-smi.txt") or "").strip() or None,
        "rocm_smi": (text("rocm-smi.txt") or "").strip() or None}


def infer_at(res, key, batch):
    for e in (res or {}).get("inference", []):
        if e.get("batch") == batch:
            return e.get(key)
    return None


tb, ib = int(os.environ["TB"]), int(os.environ["IB"])
figs = {
    "pixloc_train_samples_per_s": px["train"]["samples_per_s"] if px else None,
    "pixloc_infer_images_per_s": infer_at(px, "images_per_s", ib),
    "pixloc_startup_s": px.get("startup_s") if px else None,
    "torch_train_samples_per_s": pt["train"]["samples_per_s"] if pt else None,
    "torch_infer_images_per_s": infer_at(pt, "images_per_s", ib),
    "torch_best_format": pt.get("best_format") if pt else None,
}


def ratio(a, b):
    return a / b if a and b else None


ratios = {"train_pixloc_over_torch": ratio(figs["pixloc_train_samples_per_s"], figs["torch_train_samples_per_s"]),
          "infer_pixloc_over_torch": ratio(figs["pixloc_infer_images_per_s"], figs["torch_infer_images_per_s"])}
res = {
    "what": "tools/gpu-check.sh: pixloc on this machine's GPU beside PyTorch on the same device",
    "settings": {"device_type": os.environ["GPU_CHECK_DEVICE_TYPE"], "torch_device": os.environ["GPU_CHECK_TORCH_DEVICE"],
                 "train_batch": tb, "infer_batch": ib, "channels": os.environ["CH"], "size": os.environ["SZ"],
                 "reps": int(os.environ["REPS"]), "warmup": int(os.environ["WARMUP"]),
                 "torch_threads": int(os.environ["TORCH_THREADS"]), "suite_args": os.environ["SUITE_ARGS"]},
    "card": card,
    "figures": figs,
    "ratios": ratios,
    "targets_met": {k: (v >= 1.0 if v is not None else None) for k, v in ratios.items()},
    "suite": suite,
    "pixloc_bench": px,
    "torch_bench": pt,
    "devices": text("devices-all.txt"),
    "stages": stages,
    "total_seconds": int(os.environ["TOTAL_S"]),
}
tmp = os.path.join(out, "gpu-check.json.tmp")
with open(tmp, "w") as f:
    json.dump(res, f, indent=1)
    f.write("\n")
os.replace(tmp, os.path.join(out, "gpu-check.json"))
print(json.dumps({"card": card, "figures": figs, "ratios": ratios, "suite": suite,
                  "stages": {k: v["status"] for k, v in stages.items()}}, indent=1))
PY
    # No python3: the stage statuses alone, so the run still leaves a record.
    {
        echo "{\"error\": \"python3 failed or missing: only the stage statuses\", \"stages\": {"
        first=1
        for s in setup build devices torch_install suite bench torch; do
            [ $first = 1 ] || echo ","
            first=0
            read -r st rc secs <"$W/$s.status" 2>/dev/null || { st=missing rc=0 secs=0; }
            printf '  "%s": {"status": "%s", "exit": %s, "seconds": %s}' "$s" "$st" "$rc" "$secs"
        done
        echo "}, \"total_seconds\": $TOTAL_S}"
    } >"$OUTDIR/gpu-check.json" || exit 1
fi
say "wrote $OUTDIR/gpu-check.json (logs in $W) after $TOTAL_S s"
