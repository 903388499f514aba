# `pixloc tune` on a tiny network: it writes the device's tuning file (one line per
# layer shape) in the cache directory, `pixloc devices` then shows the device as
# tuned, and training runs with it to the same result as without; a hand-written
# file that forces other variants and tiles is used by training (the builds show
# it) and still gives the same result; a corrupt file is a warning, not a failure.
# Usage: bash tests/cli_tune.sh path/to/pixloc
set -euo pipefail
PIXLOC=${1:?usage: cli_tune.sh path/to/pixloc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PIXLOC_CACHE_DIR="$tmp/cache"
unset PIXLOC_CONV_VARIANT

"$PIXLOC" tune --help >"$tmp/help.txt"
grep -q -- "--budget" "$tmp/help.txt"

"$PIXLOC" tune --channels 3,5 --size 9x7 --batch-size 2 --budget 10 >"$tmp/tune.txt"
cat "$tmp/tune.txt"
files=("$PIXLOC_CACHE_DIR"/tuning-*.txt)
[ ${#files[@]} = 1 ] && [ -f "${files[0]}" ] || { echo "NOT OK: no single tuning file written"; exit 1; }
tf=${files[0]}
[ "$(wc -l <"$tf")" = 2 ] || { echo "NOT OK: expected 2 lines (one per layer shape) in $tf"; cat "$tf"; exit 1; }
grep -q "^conv3x3 1 3 9 7 variant=" "$tf" && grep -q "^conv3x3 3 5 9 7 variant=" "$tf" ||
    { echo "NOT OK: entries for 1->3 and 3->5 at 9x7 expected"; cat "$tf"; exit 1; }
grep -q "wrote $tf" "$tmp/tune.txt" || { echo "NOT OK: tune does not say where it wrote"; exit 1; }
grep -q "speed-up" "$tmp/tune.txt"
"$PIXLOC" devices >"$tmp/devices.txt" 2>&1
grep -q "tuned: yes, 2 tuned entries" "$tmp/devices.txt" || { echo "NOT OK: devices does not show tuned"; exit 1; }
echo "OK: tune wrote $tf; devices shows it"

train() { # train OUT_DIR [env...]: trains the tiny net; prints the last training loss
    local out=$1
    shift
    env "$@" "$PIXLOC" train --samples 200 --size 9x7 --channels 3,5 --batch-size 8 --epochs 1 --no-report \
        --quiet --out "$out" 2>>"$tmp/train-stderr.txt"
    python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); print(r[-1]["loss"])' "$out/history.csv"
}
# Same seed, same data: the loss after one epoch with and without the tuning file
# agrees (bit-identical if the tuner kept the defaults, within float rounding if not).
tuned=$(train "$tmp/run-tuned")
untuned=$(train "$tmp/run-untuned" PIXLOC_CACHE_DIR="$tmp/empty-cache")
python3 -c 'import sys; a,b=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<=1e-4*max(abs(a),abs(b)) else 1)' \
    "$tuned" "$untuned" || { echo "NOT OK: loss $tuned with the tuning file vs $untuned without"; exit 1; }
echo "OK: training with the tuning file: loss $tuned (without: $untuned)"

# A hand-written file forcing GPU tiled for 3->5 and other CPU tiles for 1->3 (tile 8
# halves to 4 for 3 channels): used
# (its kernels are built) and training gives the same loss within rounding.
printf '%s\n' "conv3x3 1 3 9 7 variant=cpu tile_co=8 wg=1 dw_tk=4 dw_tc=3 dw_seg=48" \
    "conv3x3 3 5 9 7 variant=gpu_tiled wg=8 wg_co=2 tile_q=2 tile_co=2 dw_wg=4 dw_tk=2 dw_tc=2 dw_seg=32" >"$tf"
forced=$(train "$tmp/run-forced" PIXLOC_CACHE_DEBUG=1)
grep -q -- "-DGT_WP=8 -DGT_WC=2 -DTILE_Q=2" "$tmp/train-stderr.txt" ||
    { echo "NOT OK: the GPU tiled entry was not used by training"; exit 1; }
grep -q -- "-DCIN=1 -DCOUT=3 .*-DTILE_CO=4 -DDW_TK=4 -DDW_TC=3 -DSEG=48" "$tmp/train-stderr.txt" ||
    { echo "NOT OK: the cpu entry was not used by training"; exit 1; }
python3 -c 'import sys; a,b=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<=1e-3*max(abs(a),abs(b)) else 1)' \
    "$forced" "$untuned" || { echo "NOT OK: loss $forced with forced variants vs $untuned"; exit 1; }
echo "OK: a hand-written tuning file is used (loss $forced)"

# A corrupt tuning file: one warning, and training still succeeds.
printf 'garbage\x01\x02 not a tuning file\n' >"$tf"
: >"$tmp/train-stderr.txt"
corrupt=$(train "$tmp/run-corrupt")
grep -q "warning: ignoring the tuning file" "$tmp/train-stderr.txt" ||
    { echo "NOT OK: no warning for a corrupt tuning file"; cat "$tmp/train-stderr.txt"; exit 1; }
[ "$(grep -c "tuning file" "$tmp/train-stderr.txt")" = 1 ] || { echo "NOT OK: more than one warning"; exit 1; }
[ "$corrupt" = "$untuned" ] || { echo "NOT OK: corrupt file run: loss $corrupt vs $untuned"; exit 1; }
# tune replaces it.
"$PIXLOC" tune --channels 3,5 --size 9x7 --batch-size 2 --budget 1 >"$tmp/tune2.txt" 2>"$tmp/tune2-stderr.txt"
[ "$(wc -l <"$tf")" = 2 ] || { echo "NOT OK: tune did not replace the corrupt file"; exit 1; }
echo "OK: a corrupt tuning file is a warning, and tune replaces it"

# Values past a field's bound (dw_tk=65536 once hung the kernel compiler for minutes,
# wino_tn=65536 exited with "bad tuning parameters" and no file name): each bad line
# is a warning naming the file and the line, its shape trains with the defaults, and
# the good line of the file is still used.
printf '%s\n' "conv3x3 1 3 9 7 variant=cpu dw_tk=65536" "conv3x3 3 5 9 7 variant=winograd wino_tn=65536" >"$tf"
: >"$tmp/train-stderr.txt"
bounded=$(timeout 300 bash -c "$(declare -f train); tmp='$tmp' PIXLOC='$PIXLOC' train '$tmp/run-bounded'") ||
    { echo "NOT OK: training over out-of-range tuning values failed or hung"; cat "$tmp/train-stderr.txt"; exit 1; }
grep -q "ignoring the tuning file $tf line 1 (bad value dw_tk=65536" "$tmp/train-stderr.txt" &&
    grep -q "ignoring the tuning file $tf line 2 (bad value wino_tn=65536" "$tmp/train-stderr.txt" ||
    { echo "NOT OK: no warning naming the file and line"; cat "$tmp/train-stderr.txt"; exit 1; }
[ "$bounded" = "$untuned" ] || { echo "NOT OK: out-of-range lines: loss $bounded vs the defaults' $untuned"; exit 1; }
echo "OK: out-of-range tuning values are skipped with a warning naming the file and line"

# --no-kernel-cache means what PIXLOC_CACHE_DIR=off means: no tuning file either.
printf '%s\n' "conv3x3 3 5 9 7 variant=gpu_tiled wg=8 wg_co=2 tile_q=2 tile_co=2 dw_wg=4 dw_tk=2 dw_tc=2 dw_seg=32" >"$tf"
: >"$tmp/train-stderr.txt"
PIXLOC_CACHE_DEBUG=1 "$PIXLOC" train --samples 200 --size 9x7 --channels 3,5 --batch-size 8 --epochs 1 --no-report \
    --quiet --no-kernel-cache --out "$tmp/run-nocache" 2>>"$tmp/train-stderr.txt"
if grep -q -- "-DGT_WP=8" "$tmp/train-stderr.txt"; then
    echo "NOT OK: --no-kernel-cache still read the tuning file"
    exit 1
fi
"$PIXLOC" devices --no-kernel-cache >"$tmp/devices-nocache.txt" 2>&1
grep -q "tuned: no" "$tmp/devices-nocache.txt" || { echo "NOT OK: devices --no-kernel-cache shows a tuning file"; exit 1; }
echo "OK: --no-kernel-cache leaves the tuning file alone"

# gpu_tiled's defaults (16x16 work-groups) on a device that takes at most 64 work-items per
# group (PIXLOC_MAX_WORK_GROUP, as on a small GPU): that variant is skipped with a message,
# the gpu variant's defaults are the reference, and tune still writes its file.
rm -f "$tf"
PIXLOC_MAX_WORK_GROUP=64 "$PIXLOC" tune --variants gpu_tiled,gpu --channels 3,5 --size 9x7 --batch-size 2 --budget 2 \
    >"$tmp/tune-small.txt" 2>&1 || { echo "NOT OK: tune died when the gpu_tiled defaults do not fit"; cat "$tmp/tune-small.txt"; exit 1; }
[ "$(grep -c "the gpu_tiled defaults .* do not fit or do not build .*: skipping gpu_tiled for this layer" "$tmp/tune-small.txt")" = 2 ] ||
    { echo "NOT OK: no skip message per layer"; cat "$tmp/tune-small.txt"; exit 1; }
[ "$(grep -c "variant=gpu " "$tf")" = 2 ] || { echo "NOT OK: expected the gpu variant for both layers"; cat "$tf"; exit 1; }
echo "OK: gpu_tiled defaults that do not fit are skipped with a message"

expect_usage() {
    local rc=0
    "$PIXLOC" tune "$@" >/dev/null 2>&1 || rc=$?
    [ "$rc" = 2 ] || { echo "NOT OK: 'pixloc tune $*' exited $rc, expected 2"; exit 1; }
}
expect_usage --bogus
expect_usage --budget 0
expect_usage --variants fast
expect_usage --size 12
expect_usage stray
PIXLOC_CACHE_DIR=off expect_usage --channels 3 --size 5x5 --batch-size 1
expect_usage --channels 3 --size 5x5 --batch-size 1 --no-kernel-cache
echo "OK: bad flags exit 2"
