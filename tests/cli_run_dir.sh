#!/usr/bin/env bash
# The run directory and the data a run trains on (issue: data safety):
#  - a directory that holds a run is refused without --resume/--force; --force clears the old run;
#  - two trainings into one directory: the second fails naming the first's pid (flock);
#  - --resume refuses the flags it cannot honour, and a finished run is "nothing to do" with
#    config.json untouched;
#  - --data FILE trains on FILE's training split (unless --fresh-data is given, which is logged
#    and recorded in config.json);
#  - Ctrl-C during the final evaluation exits 130 (the model is saved).
# Usage: bash tests/cli_run_dir.sh path/to/pixloc
# shellcheck source=lib_cli.sh
. "$(dirname "$0")/lib_cli.sh"

"$PX" generate --samples 80 --size 12x12 --seed 1 --out a.safetensors >/dev/null 2>&1
"$PX" generate --samples 80 --size 12x12 --seed 2 --out b.safetensors >/dev/null 2>&1
TINY=(--channels 4,4 --epochs 1 --batch-size 8 --no-report --quiet)

# Existing runs.
"$PX" train --data a.safetensors "${TINY[@]}" --out r1 >/dev/null 2>&1
check "a first run into r1 succeeds" [ -f r1/last.safetensors ]
cp r1/history.csv hist.before
st=$(
    "$PX" train --data a.safetensors "${TINY[@]}" --out r1 >/dev/null 2>err.txt
    echo $?
)
check "a second run into r1 is refused with exit 2 (got $st)" [ "$st" -eq 2 ]
check "the refusal says how to go on" grep -q "already holds a run.*--resume r1.*--force" err.txt
check "the refused run left the old history alone" cmp -s hist.before r1/history.csv
mkdir -p r1/report && echo old >r1/report/index.html && echo mine >r1/report/notes.txt
"$PX" train --data b.safetensors "${TINY[@]}" --out r1 --force >/dev/null 2>&1
check "--force replaces the run (history from the new data)" bash -c '! cmp -s hist.before r1/history.csv'
check "--force deletes the old report page" [ ! -e r1/report/index.html ]
check "--force keeps files that are not the run's" [ -f r1/report/notes.txt ]

# Two at once: the second names the first's pid.
"$PX" train --samples 3000 --size 16x16 --channels 4,4 --epochs 50 --batch-size 16 --no-report --quiet \
    --out busy >/dev/null 2>&1 &
P1=$!
for _ in $(seq 300); do [ -s busy/.lock ] && break; sleep 0.1; done
st=$(
    "$PX" train --data a.safetensors "${TINY[@]}" --out busy >/dev/null 2>err2.txt
    echo $?
)
kill "$P1" 2>/dev/null
wait "$P1" 2>/dev/null
check "a second training into a busy directory exits 1 (got $st)" [ "$st" -eq 1 ]
check "it names the holder's pid $P1" grep -q "in use by another 'pixloc train' (pid $P1)" err2.txt

# Resume.
st=$(
    "$PX" train --resume r1 --lr 0.1 --batch-size 4 --channels 8,8 >/dev/null 2>err3.txt
    echo $?
)
check "--resume with --lr/--batch-size/--channels exits 2 (got $st)" [ "$st" -eq 2 ]
check "it names the flags" grep -q -- "--batch-size.*--lr.*--channels\|--lr.*--batch-size.*--channels" err3.txt
cp r1/config.json cfg.before
"$PX" train --resume r1 >out4.txt 2>&1
check "--resume of a finished run says nothing to do" grep -q "nothing to do" out4.txt
check "... and leaves config.json alone" cmp -s cfg.before r1/config.json

# Each epoch's checkpoint carries that epoch's history row (written before the row is appended
# to history.csv, so a kill in between loses nothing: see the restore checks below).
"$PX" train --data a.safetensors --channels 4,4 --epochs 2 --batch-size 8 --no-report --quiet --out ord >/dev/null 2>&1
check "last.safetensors holds the last history row" grep -aqF "$(tail -n 1 ord/history.csv)" ord/last.safetensors
check "... in its history_row metadata" grep -aq '"history_row"' ord/last.safetensors

# A run killed between its checkpoint and its history row: the row comes back from the checkpoint.
"$PX" train --data a.safetensors "${TINY[@]}" --out lost >/dev/null 2>&1
cp lost/history.csv hist.full
head -n 1 hist.full >lost/history.csv
"$PX" train --resume lost --epochs 1 >out7.txt 2>&1
check "--resume restores a history row the checkpoint holds" cmp -s hist.full lost/history.csv
check "... and says so" grep -q "lacked epoch 1's row" out7.txt
check "... after the resume line any resume logs" grep -q "resuming lost/last.safetensors at epoch 2 step 0" out7.txt
rm lost/history.csv # killed before the first row was ever written
"$PX" train --resume lost --epochs 1 >/dev/null 2>&1
check "--resume writes the first row when history.csv was never written" cmp -s hist.full lost/history.csv

# --data trains on the file: two files give two different training losses.
"$PX" train --data a.safetensors "${TINY[@]}" --out da >/dev/null 2>&1
"$PX" train --data b.safetensors "${TINY[@]}" --out db >/dev/null 2>&1
la=$(sed -n 2p da/history.csv | cut -d, -f2)
lb=$(sed -n 2p db/history.csv | cut -d, -f2)
check "training losses differ between two data files ($la vs $lb)" [ -n "$la" ] && [ "$la" != "$lb" ]
check "config.json records fresh_data false for --data" grep -q '"fresh_data":false' da/config.json
"$PX" train --data a.safetensors --channels 4,4 --epochs 1 --batch-size 8 --no-report --fresh-data --out df \
    >/dev/null 2>log5.txt
check "--data with --fresh-data says so in the log" grep -q "fresh synthetic images.*training split is not used" log5.txt
check "... and in config.json" grep -q '"fresh_data":true' df/config.json

# Ctrl-C during the final evaluation: 130, the model saved. Many test samples make it long enough.
"$PX" generate --samples 12000 --size 24x24 --seed 3 --out big.safetensors >/dev/null 2>&1
"$PX" train --data big.safetensors --channels 2 --epochs 1 --batch-size 256 --bn-reestimate 0 --no-report \
    --out ev >ev.log 2>&1 &
P2=$!
for _ in $(seq 1200); do grep -q '^Epoch 1/1 -' ev.log 2>/dev/null && break; sleep 0.05; done
kill -INT "$P2"
wait "$P2"
st=$?
if grep -q "Trained 1 epochs" ev.log; then
    echo "skip the evaluation finished before the signal landed"
else
    check "SIGINT during the final evaluation exits 130 (got $st)" [ "$st" -eq 130 ]
    # The signal may land just before the evaluation starts (then it is an ordinary interruption).
    check "... naming the saved model or the resume" grep -qE "during the final evaluation.*pixloc eval --model ev|interrupted \(SIGINT\) at epoch 2 step 0.*resume with" <(tr '\n' ' ' <ev.log)
fi

cli_summary
