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
unset PIXLOC_PLATFORM PIXLOC_DEVICE PIXLOC_DEVICE_TYPE

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
out=$("$PX" train --device no-such-device-xyz --epochs 1 2>&1); rc=$?
if [ $rc = 2 ] && [[ "$out" == *"These exist"* ]] && [[ "$out" == *"pocl-opencl-icd"* ]]; then ok; else bad "no-match selection: rc=$rc out=$out"; fi
out=$(PIXLOC_DEVICE=no-such-device-xyz "$PX" train --epochs 1 2>&1); rc=$?
if [ $rc = 2 ] && [[ "$out" == *"no-such-device-xyz"* ]]; then ok; else bad "PIXLOC_DEVICE no-match: rc=$rc out=$out"; fi
# The flag wins over the environment.
out=$(PIXLOC_DEVICE=no-such-device-xyz "$PX" devices --device 0 2>&1); rc=$?
if [ $rc = 0 ] && [[ "$out" == *"[default]"* ]]; then ok; else bad "flag over env: rc=$rc out=$out"; fi
expect 2 "--device-type 'fpga' is not one of" "$PX" devices --device-type fpga
expect 2 "--device needs a value" "$PX" devices --device
# By type and by substring (the CPU device PoCL provides).
out=$("$PX" devices --device-type cpu 2>&1); rc=$?
if [ $rc = 0 ] && [[ "$out" == *"[default]"* ]]; then ok; else bad "--device-type cpu: rc=$rc out=$out"; fi
out=$("$PX" devices --device-type accelerator 2>&1); rc=$?
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
