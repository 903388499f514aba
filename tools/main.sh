#!/usr/bin/env bash
# The README's main command: set-up and build, then the whole pipeline with the
# default preset — generate the seed's dataset, train, evaluate against the two
# baselines, predict on example images — and print where the report is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
PX=./build/pixloc
OUT=${PIXLOC_RUN:-runs/main}
mkdir -p runs
$PX devices
echo
# 15000 samples with seed 42: the notebook's dataset, bit for bit (tests/test_dataset.c proves it).
$PX generate --samples 15000 --seed 42 --out runs/seed42.safetensors
# Train with the default preset on the notebook's splits (10800/1200/3000): validation and test
# are the file's, and --fresh-data trains on new synthetic images from the same recipe every
# epoch, as the default preset does without --data. Prints the metrics table with the
# brightest-pixel and matched-filter baselines and writes the report. --force replaces the
# previous run in $OUT, so the command can be run again.
$PX train --data runs/seed42.safetensors --fresh-data --force --out "$OUT" "$@"
echo
$PX predict --model "$OUT" data/examples/*.png
echo
echo "report: $OUT/report/index.html"
