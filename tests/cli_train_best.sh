#!/usr/bin/env bash
# The end of a training run scores the best checkpoint as well as the final model, when they differ:
#  - a run whose lowest validation loss is not at its last epoch prints a second table for
#    best.safetensors and records it in metrics.json as best_checkpoint, with the epoch that
#    history.csv says has the lowest validation loss, and the same test metrics that
#    `pixloc eval --model RUN` (which reads best.safetensors) prints for it;
#  - the final model's metrics (metrics.json's sets) stay those of last.safetensors;
#  - the report shows the best checkpoint's rows;
#  - a run whose last epoch is its best says so and writes no best_checkpoint.
# Usage: bash tests/cli_train_best.sh path/to/pixloc
# shellcheck source=lib_cli.sh
. "$(dirname "$0")/lib_cli.sh"

"$PX" generate --samples 200 --size 12x12 --seed 1 --out a.safetensors >/dev/null 2>&1
# A constant, high rate: the validation loss is lowest at epoch 2 of 6 (history.csv is the judge).
"$PX" train --data a.safetensors --channels 4,4 --epochs 6 --batch-size 8 --lr 0.1 --lr-schedule constant \
    --out r >out.txt 2>err.txt
check "the run succeeds" [ -f r/metrics.json ]
best_epoch=$(awk -F, 'NR > 1 && (NR == 2 || $4 < m) { m = $4; e = $1 } END { print e }' r/history.csv)
check "the run's best epoch ($best_epoch) is not its last (else this test checks nothing)" [ "$best_epoch" != 6 ]
check "the table names the best checkpoint's epoch" \
    grep -q "The best checkpoint (epoch $best_epoch, best.safetensors)" out.txt
"$PX" eval --model r --split test --json >best.json 2>/dev/null
"$PX" eval --model r/last.safetensors --split test,val,train --json >last.json 2>/dev/null
check "metrics.json: best_checkpoint's epoch and val/test metrics are best.safetensors'" python3 - <<EOF
import json, sys
m = json.load(open("r/metrics.json"))
b = m["best_checkpoint"]
e = json.load(open("best.json"))["sets"]["test"]
ok = b["epoch"] == $best_epoch and b["sets"]["test"] == e and "val" in b["sets"] and "baselines" not in b
sys.exit(0 if ok else 1)
EOF
check "metrics.json: the final model's sets are last.safetensors'" python3 - <<EOF
import json, sys
m = json.load(open("r/metrics.json"))["sets"]
l = json.load(open("last.json"))["sets"]
sys.exit(0 if all(m[k] == l[k] for k in ("train", "val", "test")) else 1)
EOF
check "the best checkpoint scores differently from the final model (else the comparison is empty)" \
    bash -c '! cmp -s <(python3 -c "import json;print(json.load(open(\"best.json\"))[\"sets\"][\"test\"])") \
        <(python3 -c "import json;print(json.load(open(\"last.json\"))[\"sets\"][\"test\"])")'
check "the report has the best checkpoint's rows" \
    grep -q "test <span class=muted>(best.safetensors, epoch $best_epoch)" r/report/index.html

# A run that ends on its best epoch (the default cosine schedule).
"$PX" train --data a.safetensors --channels 4,4 --epochs 4 --batch-size 8 --lr 0.05 --no-report \
    --out s >out2.txt 2>&1
last_best=$(awk -F, 'NR > 1 && (NR == 2 || $4 < m) { m = $4; e = $1 } END { print e }' s/history.csv)
check "the second run's best epoch is its last ($last_best)" [ "$last_best" = 4 ]
check "it says the final model is the best checkpoint" grep -q "The final model is also the best checkpoint" out2.txt
check "and writes no best_checkpoint" bash -c '! grep -q best_checkpoint s/metrics.json'
cli_summary
