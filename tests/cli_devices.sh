#!/usr/bin/env bash
# pixloc devices, --help, --version, usage errors and device-selection errors.
# $1: path to the pixloc binary.
set -u
PX="$1"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect STATUS FRAGMENT CMD... : runs CMD, checks exit status and that stdout+stderr contains FRAGMENT.
expect() {
  local want="$1" frag="$2"; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" != "$want" ]; then bad "'$*' exited $rc, expected $want. Output: $out"; return; fi
  if [[ "$out" != *"$frag"* ]]; then bad "'$*' output lacks '$frag'. Output: $out"; return; fi
  ok
}
# The test device's selectors (tests/on_test_device.sh: PIXLOC_TEST_DEVICE) are kept, so
# every check runs on the device the suite runs on; the selection-error checks name their
# own selectors and run with none inherited (nosel).
nosel() { env -u PIXLOC_PLATFORM -u PIXLOC_DEVICE -u PIXLOC_DEVICE_TYPE "$@"; }

expect 0 "[default]" "$PX" devices
expect 0 "largest allocation" "$PX" devices
expect 0 "driver" "$PX" devices
expect 0 "pixloc 0." "$PX" --version
expect 0 "Commands:" "$PX" --help
expect 0 "--device-type" "$PX" devices --help
expect 2 "unknown command 'frobnicate'" "$PX" frobnicate
expect 2 "unknown option '--bogus'" "$PX" devices --bogus
expect 2 "Usage" "$PX"
# A selection that matches nothing: exit 2, lists what exists, says how to install PoCL.
out=$(nosel "$PX" train --device no-such-device-xyz --epochs 1 2>&1); rc=$?
if [ $rc = 2 ] && [[ "$out" == *"These exist"* ]] && [[ "$out" == *"pocl-opencl-icd"* ]]; then ok; else bad "no-match selection: rc=$rc out=$out"; fi
out=$(nosel PIXLOC_DEVICE=no-such-device-xyz "$PX" train --epochs 1 2>&1); rc=$?
if [ $rc = 2 ] && [[ "$out" == *"no-such-device-xyz"* ]]; then ok; else bad "PIXLOC_DEVICE no-match: rc=$rc out=$out"; fi
# The flag wins over the environment: the default device's index (per platform) as --device.
def_index=$("$PX" devices 2>/dev/null | sed -n 's/^  device \([0-9]*\): \[default\].*/\1/p')
out=$(PIXLOC_DEVICE=no-such-device-xyz "$PX" devices --device "${def_index:-0}" 2>&1); rc=$?
if [ $rc = 0 ] && [[ "$out" == *"[default]"* ]]; then ok; else bad "flag over env: rc=$rc out=$out"; fi
expect 2 "--device-type 'fpga' is not one of" "$PX" devices --device-type fpga
expect 2 "--device needs a value" "$PX" devices --device
# By type: the default device's own type (CPU on PoCL, GPU with PIXLOC_TEST_DEVICE=gpu).
def_type=$("$PX" devices 2>/dev/null | sed -n '/\[default\]/{n;s/.*, type \([A-Za-z]*\).*/\1/p}' | tr '[:upper:]' '[:lower:]')
out=$("$PX" devices --device-type "$def_type" 2>&1); rc=$?
if [ -n "$def_type" ] && [ $rc = 0 ] && [[ "$out" == *"[default]"* ]]; then ok; else bad "--device-type '$def_type': rc=$rc out=$out"; fi
# Every device line says whether it can be used: an OpenCL C version is shown, and nothing
# is skipped on the test device.
out=$("$PX" devices 2>&1)
if [[ "$out" == *"(OpenCL C "* ]] && ! grep -A3 "\[default\]" <<<"$out" | grep -q "skipped:"; then ok; else bad "OpenCL C / skipped lines: $out"; fi
out=$(nosel "$PX" devices --device-type accelerator 2>&1); rc=$?
if [ $rc = 2 ] && [[ "$out" == *"no OpenCL device matches --device-type 'accelerator'"* ]]; then ok; else bad "accelerator: rc=$rc out=$out"; fi
# No OpenCL platform at all: an empty vendor directory for the ICD loader.
empty=$(mktemp -d)
out=$(OCL_ICD_VENDORS="$empty" "$PX" devices 2>&1); rc=$?
if [ $rc = 2 ] && [[ "$out" == *"no OpenCL platform"* ]] && [[ "$out" == *"pocl-opencl-icd"* ]]; then ok; else bad "no platform: rc=$rc out=$out"; fi
out=$(OCL_ICD_VENDORS="$empty" "$PX" train --epochs 1 2>&1); rc=$?
if [ $rc = 2 ] && [[ "$out" == *"no OpenCL platform"* ]]; then ok; else bad "no platform (train): rc=$rc out=$out"; fi
rmdir "$empty"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
