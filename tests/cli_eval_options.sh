#!/usr/bin/env bash
# The accuracy options of the command line (issue: accuracy):
#  - train --loss bce is recorded in config.json and the checkpoint, trains another model than
#    mse, survives --resume, and cannot be changed by one; --loss with another name exits 2;
#  - eval --split scores only the parts named, with the same figures as the full evaluation;
#    a bad name exits 2, as does --split with a file that is not the training file;
#  - eval and predict --tta change the heatmaps (the mean of the 8 transforms) and say so;
#  - eval prints the far-miss count (>2px) and writes it to the JSON.
# (Equivariance of the averaged heatmaps: tests/test_tta.c; the loss kernels: test_head.c.)
# Usage: bash tests/cli_eval_options.sh path/to/pixloc
# shellcheck source=lib_cli.sh
. "$(dirname "$0")/lib_cli.sh"

"$PX" generate --samples 120 --size 12x12 --seed 3 --out d.safetensors >/dev/null 2>&1
TINY=(--data d.safetensors --channels 4,4 --batch-size 8 --no-report --quiet)

"$PX" train "${TINY[@]}" --epochs 1 --out mse >/dev/null 2>&1
"$PX" train "${TINY[@]}" --epochs 1 --loss bce --out bce >/dev/null 2>&1
check "--loss bce trains" [ -f bce/last.safetensors ]
check "config.json records the loss" grep -q '"loss":"bce"' bce/config.json
check "... and mse by default" grep -q '"loss":"mse"' mse/config.json
check "the two losses give different models" bash -c '! cmp -s mse/last.safetensors bce/last.safetensors'
st=$(
    "$PX" train "${TINY[@]}" --loss l1 --out x >/dev/null 2>err.txt
    echo $?
)
check "--loss l1 exits 2 (got $st)" [ "$st" -eq 2 ]
check "... naming the choices" grep -q "'l1' is not mse or bce" err.txt
"$PX" train --resume bce --epochs 2 --quiet --no-report >/dev/null 2>&1
check "a resumed bce run keeps its loss" grep -q '"loss":"bce"' bce/config.json
st=$(
    "$PX" train --resume bce --epochs 3 --loss mse >/dev/null 2>err.txt
    echo $?
)
check "--resume with --loss is refused (got $st)" [ "$st" -eq 2 ]

field() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(j['sets'].get(sys.argv[2], {}).get(sys.argv[3], 'absent'))" "$@"; }
"$PX" eval --model mse --json >all.json 2>/dev/null
"$PX" eval --model mse --split test --json >test.json 2>/dev/null
check "--split test scores the test part" [ "$(field test.json test mae)" != absent ]
check "... with the full evaluation's figures" [ "$(field test.json test mae)" = "$(field all.json test mae)" ]
check "... and not the others" [ "$(field test.json train mae)" = absent ] && [ "$(field test.json val mae)" = absent ]
# The training file named with --data (another spelling of its path) is split, not scored whole.
"$PX" eval --model mse --data ./d.safetensors --split test --json >test2.json 2>/dev/null
check "--data TRAINING_FILE --split test scores its test part" [ "$(field test2.json test mae)" = "$(field all.json test mae)" ]
check "far misses in the JSON" [ "$(field all.json test far_misses)" != absent ]
"$PX" eval --model mse --split val,train >vt.txt 2>/dev/null
check "--split val,train prints those rows" bash -c 'grep -q "^val " vt.txt && grep -q "^train " vt.txt && ! grep -q "^test " vt.txt'
check "the table has the far-miss column" grep -q '>2px' vt.txt
st=$(
    "$PX" eval --model mse --split tset >/dev/null 2>err.txt
    echo $?
)
check "--split tset exits 2 (got $st)" [ "$st" -eq 2 ] && grep -q "'tset' is not train, val or test" err.txt
"$PX" generate --samples 20 --size 12x12 --seed 9 --out other.safetensors >/dev/null 2>&1
st=$(
    "$PX" eval --model mse --data other.safetensors --split test >/dev/null 2>err.txt
    echo $?
)
check "--split with another file exits 2 (got $st)" [ "$st" -eq 2 ] && grep -q "scored whole" err.txt

"$PX" eval --model mse --split test --tta >tta.txt 2>/dev/null
check "eval --tta says so" grep -q "test-time augmentation" tta.txt
"$PX" predict --model mse --json other.safetensors >plain.json 2>/dev/null
"$PX" predict --model mse --json --tta other.safetensors >tta.json 2>/dev/null
check "predict --tta gives a row per image" [ "$(grep -c '"input"' tta.json)" = 20 ]
check "predict --tta changes the heatmaps (peaks)" bash -c '! cmp -s plain.json tta.json'
cli_summary
