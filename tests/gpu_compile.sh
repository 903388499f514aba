#!/usr/bin/env bash
# CTest `gpu_compile` (label gpu-compile): the programs pixloc builds for a GPU, written by
# `pixloc kernels` for the seed network and the default preset's, and the seed network's with
# every layer forced to Winograd (GPU-shaped: `pixloc tune --variants winograd` or
# PIXLOC_CONV_VARIANT=winograd on a GPU build these), F(2x2,3x3) and F(4x4,3x3), compiled for NVIDIA
# (sm_75/80/90) and AMD (gfx906/90a/1030) at OpenCL C 1.1 and 1.2 by tests/gpu_compile.py,
# which fails on compile errors, spills, scratch use and local memory over 48 KiB.
# Usage: gpu_compile.sh PIXLOC [KERNEL_DIR]   (KERNEL_DIR: sources other than the built-in ones)
set -euo pipefail
pixloc=$1
kdir=${2:+--kernel-dir=$2}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$pixloc" kernels --device-type gpu --channels 32,64,128,64,32 --out "$tmp/seed" $kdir
"$pixloc" kernels --device-type gpu --channels 16,32,64,32,16 --out "$tmp/default" $kdir
# (its conv.cl programs are those of the 'gpu' variant, the fallback of gpu_tiled)
"$pixloc" kernels --device-type gpu --conv-variant winograd --channels 32,64,128,64,32 --out "$tmp/winograd" $kdir
"$pixloc" kernels --device-type gpu --conv-variant winograd --wino-m 4 --channels 32,64,128,64,32 --out "$tmp/winograd4" $kdir
python3 "$here/gpu_compile.py" --jobs 2 "$tmp/seed" "$tmp/default" "$tmp/winograd" "$tmp/winograd4"
