#!/usr/bin/env bash
# `pixloc import` end to end (the tensors' exact round trip is tests/test_import.c):
#  - generate --png writes labels.csv beside the PNGs, and import reads the folder back
#    with the generated coordinates (checked against generate's own first label);
#  - the same labels written with a BOM, CRLF, no header, quoted names, blank lines and spaces
#    give a byte-identical dataset file, and so does a copy of the folder under other names;
#  - a model predicts the same x, y and peak on the imported dataset as on the image files
#    themselves, PNG and plain-text PGM alike (the pixels are what predict reads);
#  - train --data on the imported file trains one tiny epoch with the 72/8/20 split that import
#    announced, and eval scores it (no MAP-detector row: the file has no recipe); --fresh-data
#    on it is refused (no recipe to draw from);
#  - a failed import (a bad row) leaves an existing output untouched.
# The error cases, one per row, are in tests/bad_inputs.tsv. Usage: bash tests/cli_import.sh pixloc
source "$(dirname "$0")/lib_cli.sh"

"$PX" generate --samples 30 --seed 5 --size 10x12 --out gen.safetensors --png png --png-count 30 >gen.log 2>&1
check "generate --png writes labels.csv with a header and 30 rows" \
    test "$(head -n1 png/labels.csv)" = "file,x,y" -a "$(wc -l <png/labels.csv)" -eq 31
first=$(sed -n 's/.*(sample_00000.png: x=\([0-9]*\), y=\([0-9]*\)).*/\1,\2/p' gen.log)
check "labels.csv holds generate's first label ($first)" grep -qx "sample_00000.png,$first" png/labels.csv

check "import --help describes the CSV" grep -q "one row file,x,y per image" <<<"$("$PX" import --help)"
check "pixloc --help lists import" grep -q "^  import " <<<"$("$PX" --help)"

out=$("$PX" import --images png --out a.safetensors 2>&1)
check "import (labels.csv by default) exits 0" test $? -eq 0
check "import reports 30 images of 12 x 10" grep -q "read 30 images, 12 wide and 10 high (--size 10x12)" <<<"$out"
# 30 samples: test ceil(6) = 6, then 24 - floor(24 * 0.9) = 3 for validation.
check "import announces train's split (21/3/6)" grep -q "train 21 / validation 3 / test 6" <<<"$out"

# The same labels in every accepted style, and the images under names that need quoting.
mkdir -p "odd dir/sub"
{
    printf '\xef\xbb\xbf'
    i=0
    tail -n +2 png/labels.csv | while IFS=, read -r f x y; do
        cp "png/$f" "odd dir/sub/img, $i \"q\".png"
        printf '  "sub/img, %d ""q"".png" , %s ,%s\r\n\r\n' "$i" "$x" "$y"
        i=$((i + 1))
    done
} >"odd dir/labels.csv"
"$PX" import --images "odd dir/" --out b.safetensors >/dev/null 2>&1
check "BOM, CRLF, no header, quoted names with commas, blank lines: byte-identical dataset" cmp -s a.safetensors b.safetensors
tr -d '\r' <"odd dir/labels.csv" | tail -c +4 >lf.csv
"$PX" import --images "odd dir" --labels lf.csv --out c.safetensors >/dev/null 2>&1
check "the same with LF line ends and the labels outside the folder: byte-identical" cmp -s a.safetensors c.safetensors

# A model's predictions on the imported file equal those on the files it came from.
"$PX" train --samples 60 --size 10x12 --channels 2 --epochs 1 --batch-size 8 --no-report --quiet --out run >train0.log 2>&1
check "a tiny model for predict trains" test -s run/best.safetensors
"$PX" predict --model run a.safetensors 2>/dev/null | tail -n +2 | cut -d, -f2- >pred_ds.txt
(cd png && "$PX" predict --model ../run $(tail -n +2 labels.csv | cut -d, -f1) 2>/dev/null) | tail -n +2 | cut -d, -f2- >pred_png.txt
check "predict: the imported dataset gives the PNGs' x, y and peak (30 lines)" \
    test "$(wc -l <pred_ds.txt)" -eq 30 -a -z "$(diff pred_ds.txt pred_png.txt)"

# Plain PGM files written here from known pixels: the bright pixel at (x, y) of each.
mkdir pgm
printf 'file,x,y\n' >pgm/labels.csv
for n in 0 1 2 3 4 5 6 7 8 9; do
    x=$(((n * 7 + 3) % 12)) y=$(((n * 3 + 1) % 10))
    {
        printf 'P2\n12 10\n255\n'
        for r in $(seq 0 9); do
            for c in $(seq 0 11); do
                if [ "$r" = "$y" ] && [ "$c" = "$x" ]; then printf '250 '; else printf '%d ' $(((r * 12 + c + n) % 31)); fi
            done
            printf '\n'
        done
    } >"pgm/p$n.pgm"
    printf 'p%d.pgm,%d,%d\n' "$n" "$x" "$y" >>pgm/labels.csv
done
out=$("$PX" import --images pgm --out pgm.safetensors 2>&1)
check "PGM folder imports" grep -q "read 10 images, 12 wide and 10 high" <<<"$out"
"$PX" predict --model run pgm.safetensors 2>/dev/null | tail -n +2 | cut -d, -f2- >pred_pgm_ds.txt
(cd pgm && "$PX" predict --model ../run p?.pgm 2>/dev/null) | tail -n +2 | cut -d, -f2- >pred_pgm.txt
check "predict: the PGM dataset gives the PGM files' x, y and peak" \
    test "$(wc -l <pred_pgm.txt)" -eq 10 -a -z "$(diff pred_pgm_ds.txt pred_pgm.txt)"

# train --data on the imported file, then eval on its own split.
"$PX" train --data a.safetensors --channels 2 --epochs 1 --batch-size 4 --no-report --out run2 >train.log 2>&1
check "train --data on the imported dataset: one epoch" test $? -eq 0 -a -s run2/last.safetensors
check "train uses the announced split" grep -q "data: 30 samples of 10x12 (a.safetensors), train 21 / val 3 / test 6" train.log
"$PX" eval --model run2 >eval.log 2>&1
check "eval scores the imported training file's splits" grep -q "a.safetensors" eval.log
check "... without the MAP detector's row (an imported file has no recipe)" bash -c '! grep -q "^bayes" eval.log'
"$PX" train --data a.safetensors --fresh-data --channels 2 --epochs 1 --batch-size 4 --no-report --out run3 \
    >fresh.log 2>&1
st=$?
check "train --data IMPORTED --fresh-data exits 2 (got $st): the file has no recipe to draw from" test $st -eq 2
check "... saying why and what to do" grep -q "made by 'pixloc import' (its images have no recipe).*drop --fresh-data" fresh.log
check "... before making the run directory" test ! -e run3/config.json

# A failed import leaves the old output as it was.
cp a.safetensors keep.safetensors
printf 'sample_00000.png,1,1\nsample_00001.png,99,1\n' >png/bad.csv
"$PX" import --images png --labels png/bad.csv --out a.safetensors >bad.log 2>&1
check "a bad row exits 2 naming its line" test $? -eq 2 -a -n "$(grep 'bad.csv line 2: label (x=99, y=1) is outside' bad.log)"
check "and leaves the existing output untouched" cmp -s a.safetensors keep.safetensors
check "and leaves no temporary file" test -z "$(ls -A | grep '\.tmp\.')"

cli_summary
