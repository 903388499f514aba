#!/usr/bin/env bash
# The F(4x4) Winograd weight gradient's chunk on a CPU (host/nn/conv_winograd.c, wd_nb_for): as
# many images as keep the chunk's transformed inputs and gradients (36 x (Cin + Cout) x tiles
# floats) within 10 MiB, at least one, at most the batch. Read off the programs `pixloc kernels`
# writes (no device needed): the weight-gradient program's TSTRIDE is the chunk's tiles rounded up
# to the GEMM's blocks of 64, plus 16, rounded up to 16. This script computes the expected value on
# its own and compares, for the seed network, the default preset's, a large image (one-image
# chunks) and a small batch (the batch caps the chunk).
# Usage: cli_wd_chunks.sh PIXLOC
set -euo pipefail
pixloc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # channels size batch
    local out="$tmp/$1-$2-$3"
    "$pixloc" kernels --device-type cpu --channels "$1" --size "$2" --batch-size "$3" --out "$out" >/dev/null
    local h=${2%x*} w=${2#*x} n=0
    for f in "$out"/*.options; do
        grep -q -- "-DWINO_DW=1" "$f" || continue
        local opt cin cout ts
        opt=$(cat "$f")
        cin=$(sed -E 's/.*-DCIN=([0-9]+).*/\1/' <<<"$opt")
        cout=$(sed -E 's/.*-DCOUT=([0-9]+).*/\1/' <<<"$opt")
        ts=$(sed -E 's/.*-DTSTRIDE=([0-9]+).*/\1/' <<<"$opt")
        grep -q -- "-DWM=4" <<<"$opt" || { echo "FAIL $1 $2: a weight-gradient program without -DWM=4: $opt"; fail=1; continue; }
        local tiles=$((((h + 3) / 4) * ((w + 3) / 4)))
        local nb=$((10 * 1024 * 1024 / (36 * (cin + cout) * tiles * 4)))
        ((nb < 1)) && nb=1
        ((nb > $3)) && nb=$3
        local t=$((nb * tiles))
        local want=$(((((t + 63) / 64 * 64 + 16) + 15) / 16 * 16))
        if [ "$ts" != "$want" ]; then
            echo "FAIL channels $1, ${2}, batch $3: $cin->$cout weight-gradient TSTRIDE $ts, expected $want ($nb image(s) of $tiles tiles)"
            fail=1
        else
            echo "ok   channels $1, ${2}, batch $3: $cin->$cout chunks of $nb image(s) (TSTRIDE $ts)"
        fi
        n=$((n + 1))
    done
    if [ "$n" = 0 ]; then
        echo "FAIL channels $1, $2: no Winograd weight-gradient program written"
        fail=1
    fi
}
check 32,64,128,64,32 50x50 64  # 2 images at 64<->128, 4 at 32<->64
check 16,32,64,32,16 50x50 64   # 8 at 16<->32, 4 at 32<->64
check 32,64,128,64,32 200x200 8 # one-image chunks
check 16,32,64,32,16 50x50 3    # the batch caps the chunk
exit $fail
