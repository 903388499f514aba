#!/usr/bin/env bash
# pixloc train's two schedules give the same run, bit for bit: the default (each step's loss
# checked one step late, the next epoch's fresh data drawn on a host thread) against
# PIXLOC_TRAIN_SYNC=1 (each loss checked before the next step, data drawn between epochs).
# With fresh data and without: the same checkpoints (every tensor and metadata entry, wall-clock
# fields aside: tests/ckpt_same.py), history.csv loss columns and metrics.json; a NaN stops both
# with the same message and exit 1 and leaves the same epoch-1 checkpoint; a run resumed at an
# epoch boundary (its data drawn at the start, not by the thread) equals one that never stopped.
# Usage: bash tests/cli_train_schedule.sh path/to/pixloc
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib_cli.sh
. "$HERE/lib_cli.sh"
same() { python3 "$HERE/ckpt_same.py" "$@"; }
losses() { cut -d, -f1-5 "$1"; }
TINY=(--samples 400 --size 16x16 --channels 4,8 --batch-size 16 --seed 5 --no-report --quiet)

for data in --fresh-data --no-fresh-data; do
    "$PX" train "${TINY[@]}" --epochs 3 "$data" --out "p$data" >/dev/null 2>&1
    a=$?
    PIXLOC_TRAIN_SYNC=1 "$PX" train "${TINY[@]}" --epochs 3 "$data" --out "s$data" >/dev/null 2>&1
    b=$?
    check "$data: both runs succeed ($a, $b)" [ "$a" -eq 0 ] && [ "$b" -eq 0 ]
    check "$data: last.safetensors the same" same "p$data/last.safetensors" "s$data/last.safetensors"
    check "$data: best.safetensors the same" same "p$data/best.safetensors" "s$data/best.safetensors"
    check "$data: history.csv losses the same" cmp -s <(losses "p$data/history.csv") <(losses "s$data/history.csv")
    check "$data: metrics.json the same" cmp -s "p$data/metrics.json" "s$data/metrics.json"
done

# A NaN at global step 25 (epoch 2 step 8: an epoch is 18 steps).
PIXLOC_TEST_NAN_STEP=25 "$PX" train "${TINY[@]}" --epochs 3 --fresh-data --out np >np.txt 2>&1
a=$?
PIXLOC_TEST_NAN_STEP=25 PIXLOC_TRAIN_SYNC=1 "$PX" train "${TINY[@]}" --epochs 3 --fresh-data --out ns >ns.txt 2>&1
b=$?
check "NaN: exit 1 in both ($a, $b)" [ "$a" -eq 1 ] && [ "$b" -eq 1 ]
check "NaN: the message names epoch 2 step 8" grep -q "loss became NaN at epoch 2 step 8: training diverged" np.txt
check "NaN: the same message in both" cmp -s <(sed 's|np/|D/|' np.txt) <(sed 's|ns/|D/|' ns.txt)
check "NaN: the same epoch-1 checkpoint" same np/last.safetensors ns/last.safetensors

# Resumed at an epoch boundary: epochs 1-2, then --resume to 3 (constant rate: the schedule does
# not depend on the total), against 3 epochs in one go.
R=(--lr-schedule constant --fresh-data)
"$PX" train "${TINY[@]}" "${R[@]}" --epochs 2 --out r >/dev/null 2>&1
"$PX" train --resume r --epochs 3 --quiet --no-report >/dev/null 2>&1
"$PX" train "${TINY[@]}" "${R[@]}" --epochs 3 --out o >/dev/null 2>&1
check "resumed at epoch 2: the same last.safetensors as one run" same r/last.safetensors o/last.safetensors
check "resumed at epoch 2: the same history.csv losses" cmp -s <(losses r/history.csv) <(losses o/history.csv)
cli_summary
