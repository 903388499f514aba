#!/usr/bin/env bash
# train --input-filter impulse (include/nn/input_filter.h; the filter itself and net_set_batch's
# use of it: tests/test_input_filter.c):
#  - it is recorded in config.json (impulse on half the images in the default preset, "none" with
#    --input-filter none), survives --resume and cannot be changed
#    by one; another name exits 2 naming the choices;
#  - the trainer filters what it uploads: on data with background noise the model differs from
#    an unfiltered one (from a file and with fresh data); on data without any (--bg-prob 0) the
#    filter finds nothing and every tensor is the same as the unfiltered run's;
#  - --filter-fraction F leaves a share of the training images raw: recorded, refused without the
#    filter, by --resume and outside (0, 1]; 0.5 (the default preset's) gives a model unlike
#    both the filtered and the unfiltered one (and the unfiltered one on clean data);
#  - eval scores the filtered model, and warns on 8-bit images, where the filter cannot act (not
#    for a model trained with images raw); export says on stderr that the ONNX graph lacks the
#    filter and records it in the model's metadata.
# Usage: bash tests/cli_input_filter.sh path/to/pixloc
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib_cli.sh
. "$HERE/lib_cli.sh"
same() { python3 "$HERE/ckpt_same.py" "$@"; }

"$PX" generate --samples 160 --size 24x24 --seed 3 --out d.safetensors >/dev/null 2>&1
"$PX" generate --samples 160 --size 24x24 --seed 3 --bg-prob 0 --out clean.safetensors >/dev/null 2>&1
TINY=(--channels 4,4 --batch-size 16 --epochs 1 --no-report --quiet)

"$PX" train "${TINY[@]}" --data d.safetensors --input-filter none --out plain >/dev/null 2>&1
"$PX" train "${TINY[@]}" --data d.safetensors --input-filter impulse --filter-fraction 1 --out filt >/dev/null 2>&1
check "--input-filter impulse trains" [ -f filt/last.safetensors ]
check "config.json records the filter" grep -q '"input_filter":"impulse"' filt/config.json
check "... and none with --input-filter none" grep -q '"input_filter":"none"' plain/config.json
"$PX" train "${TINY[@]}" --data d.safetensors --out dflt >/dev/null 2>&1
check "the default preset: impulse on half the training images" \
    grep -q '"input_filter":"impulse","filter_fraction":0.5' dflt/config.json
check "the filter changes the model trained on noisy data" bash -c "! python3 '$HERE/ckpt_same.py' plain/last.safetensors filt/last.safetensors --tensors-only >/dev/null"
"$PX" train "${TINY[@]}" --samples 160 --size 24x24 --fresh-data --input-filter none --out fplain >/dev/null 2>&1
"$PX" train "${TINY[@]}" --samples 160 --size 24x24 --fresh-data --input-filter impulse --filter-fraction 1 --out ffilt >/dev/null 2>&1
check "... and with fresh data" bash -c "! python3 '$HERE/ckpt_same.py' fplain/last.safetensors ffilt/last.safetensors --tensors-only >/dev/null"
"$PX" train "${TINY[@]}" --data clean.safetensors --input-filter none --out cplain >/dev/null 2>&1
"$PX" train "${TINY[@]}" --data clean.safetensors --input-filter impulse --filter-fraction 1 --out cfilt >/dev/null 2>&1
check "without background noise the filter changes no tensor" same cplain/last.safetensors cfilt/last.safetensors --tensors-only
# --filter-fraction: a share of the training images stays raw.
"$PX" train "${TINY[@]}" --data d.safetensors --input-filter impulse --filter-fraction 0.5 --out half >/dev/null 2>&1
check "--filter-fraction 0.5 is recorded" grep -q '"filter_fraction":0.5' half/config.json
check "... the filter on all is recorded as 1" grep -q '"filter_fraction":1' filt/config.json
check "half the images raw gives a model unlike the filtered one" bash -c "! python3 '$HERE/ckpt_same.py' filt/last.safetensors half/last.safetensors --tensors-only >/dev/null"
check "... and unlike the unfiltered one" bash -c "! python3 '$HERE/ckpt_same.py' plain/last.safetensors half/last.safetensors --tensors-only >/dev/null"
"$PX" train "${TINY[@]}" --samples 160 --size 24x24 --fresh-data --input-filter impulse --filter-fraction 0.5 \
    --out fhalf >/dev/null 2>&1
check "... with fresh data, unlike the filtered model" bash -c "! python3 '$HERE/ckpt_same.py' ffilt/last.safetensors fhalf/last.safetensors --tensors-only >/dev/null"
check "... and unlike the unfiltered one" bash -c "! python3 '$HERE/ckpt_same.py' fplain/last.safetensors fhalf/last.safetensors --tensors-only >/dev/null"
"$PX" train "${TINY[@]}" --data clean.safetensors --input-filter impulse --filter-fraction 0.5 --out chalf >/dev/null 2>&1
check "... and without background noise, the unfiltered model to the bit" same cplain/last.safetensors chalf/last.safetensors --tensors-only
st=$(
    "$PX" train "${TINY[@]}" --data d.safetensors --input-filter none --filter-fraction 0.5 --out x >/dev/null 2>err.txt
    echo $?
)
check "--filter-fraction without the filter exits 2 (got $st)" [ "$st" -eq 2 ]
check "... saying it needs --input-filter impulse" grep -q "needs --input-filter impulse" err.txt
st=$(
    "$PX" train "${TINY[@]}" --data d.safetensors --input-filter impulse --filter-fraction 0 --out x >/dev/null 2>err.txt
    echo $?
)
check "--filter-fraction 0 exits 2 (got $st)" [ "$st" -eq 2 ]
st=$(
    "$PX" train --resume half --epochs 3 --filter-fraction 1 >/dev/null 2>err.txt
    echo $?
)
check "--resume with --filter-fraction is refused (got $st)" [ "$st" -eq 2 ]

st=$(
    "$PX" train "${TINY[@]}" --data d.safetensors --input-filter median --out x >/dev/null 2>err.txt
    echo $?
)
check "--input-filter median exits 2 (got $st)" [ "$st" -eq 2 ]
check "... naming the choices" grep -q "'median' is not none or impulse" err.txt
"$PX" train --resume filt --epochs 2 --quiet --no-report >/dev/null 2>&1
check "a resumed run keeps its filter" grep -q '"input_filter":"impulse"' filt/config.json
st=$(
    "$PX" train --resume filt --epochs 3 --input-filter none >/dev/null 2>err.txt
    echo $?
)
check "--resume with --input-filter is refused (got $st)" [ "$st" -eq 2 ]

"$PX" eval --model filt --data d.safetensors >ev.txt 2>/dev/null
check "eval scores the filtered model" grep -q "^all  *160 " ev.txt
"$PX" generate --samples 12 --size 24x24 --seed 4 --png png --png-count 12 --out g.safetensors >/dev/null 2>&1
"$PX" import --images png --labels png/labels.csv --out png.safetensors >/dev/null 2>&1
"$PX" eval --model filt --data png.safetensors >/dev/null 2>err.txt
check "eval of 8-bit images warns that the filter finds nothing there" grep -q "no single repeated value" err.txt
"$PX" eval --model plain --data png.safetensors >/dev/null 2>err.txt
check "... and not for an unfiltered model" bash -c '! grep -q "input filter" err.txt'
"$PX" eval --model half --data png.safetensors >/dev/null 2>err.txt
check "... nor for one trained with half its images raw" bash -c '! grep -q "input filter" err.txt'
"$PX" export --model filt --onnx f.onnx >/dev/null 2>err.txt
check "export warns that the graph lacks the filter" grep -q "does not contain" err.txt
check "... and records it in the metadata" grep -aq "pixloc_input_filter" f.onnx
"$PX" export --model plain --onnx p.onnx >/dev/null 2>err.txt
check "no warning without a filter" bash -c '! grep -q "input-filter" err.txt'
cli_summary
