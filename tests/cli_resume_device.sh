#!/usr/bin/env bash
# A checkpoint records the device, driver, platform and each layer's kernel variant;
# `train --resume` on a different device or with other kernel variants warns that the
# continuation will not be bit-identical (and continues), and says nothing on the same
# device with the same kernels.
# Usage: bash tests/cli_resume_device.sh path/to/pixloc
. "$(dirname "$0")/lib_cli.sh"
unset PIXLOC_CONV_VARIANT
train() { "$PX" train --samples 120 --size 9x7 --channels 3,4 --batch-size 8 --no-report --quiet "$@"; }
resume() { "$PX" train --resume "$1" --epochs 2 --no-report --quiet; }

train --epochs 1 --out run >train.log 2>&1 || { cat train.log; bad "first training run failed"; }
cp run/last.safetensors epoch1.safetensors
dev=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["device"])' run/config.json)
check "the checkpoint records the device" grep -aqF "$dev" run/last.safetensors
check "the checkpoint records the kernel variants" grep -aq '3->4 variant=' run/last.safetensors

# Same device, same kernels: no warning.
resume run >same.log 2>&1; rc=$?
check "resume on the same device continues (exit 0)" test "$rc" = 0
check "no warning on the same device" bash -c '! grep -q "bit-identical" same.log'

# The same checkpoint with another device name recorded (same length: the header stays valid).
python3 - "$dev" epoch1.safetensors other.safetensors <<'PY'
import struct, sys
name, src, dst = sys.argv[1].encode(), sys.argv[2], sys.argv[3]
b = bytearray(open(src, "rb").read())
hlen = struct.unpack("<Q", b[:8])[0]
at = b.find(name, 8, 8 + hlen)
assert at > 0, "device name not in the header"
b[at:at + len(name)] = b"Q" * len(name)
open(dst, "wb").write(b)
PY
mkdir -p run2 && cp run/config.json run/history.csv run2/ 2>/dev/null
cp other.safetensors run2/last.safetensors
resume run2 >other.log 2>&1; rc=$?
check "resume on another device continues (exit 0)" test "$rc" = 0
check "it warns that the continuation is not bit-identical" grep -q "warning: .*will not be bit-identical" other.log
check "the warning names the recorded and the current device" \
    grep -qF "device: '$(printf 'Q%.0s' $(seq ${#dev}))' then, '$dev' now" other.log

# Other kernel variants (forced), same device: the warning names the kernel variants.
mkdir -p run3 && cp run/config.json run/history.csv run3/ 2>/dev/null
cp epoch1.safetensors run3/last.safetensors
PIXLOC_CONV_VARIANT=gpu resume run3 >variant.log 2>&1; rc=$?
check "resume with other kernel variants continues (exit 0)" test "$rc" = 0
check "the warning names the kernel variants" grep -q "kernel variants: '.*variant=.*' then, '.*variant=gpu" variant.log
check "and not the device" bash -c '! grep -q "^  device:" variant.log'
[ "$fail" = 0 ] || { echo "--- other.log"; cat other.log; echo "--- variant.log"; cat variant.log; }
cli_summary
