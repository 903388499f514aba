#!/usr/bin/env bash
# Interrupted runs: a tiny training run stopped by SIGINT, SIGTERM or SIGHUP mid-run must
# exit 130, say how to resume, leave DIR/last.safetensors that `pixloc eval` loads,
# and `pixloc train --resume DIR` must continue it. SIGKILL at random moments (the
# process gets no say) must never leave a checkpoint that does not load, and
# resuming from whatever is there must work.
# Usage: bash tests/cli_interrupt.sh path/to/pixloc
set -uo pipefail
PX=$(realpath "$1")
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
export PIXLOC_CACHE_DIR=${PIXLOC_CACHE_DIR:-$TMP/cache}
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# 3000 samples: epochs long enough (~0.1-0.5 s here) for a signal to land inside one.
TRAIN=(train --samples 3000 --size 16x16 --channels 4,4 --epochs 50 --batch-size 16 --no-report)

# Starts a run into $1 in the background; sets PID.
start() { "$PX" "${TRAIN[@]}" --out "$1" >"$1.log" 2>&1 & PID=$!; }
# Waits (up to 120 s) until the run has finished its first epoch (signal handlers are in place).
wait_epoch() {
  for _ in $(seq 1200); do
    grep -q '^Epoch 1/50' "$1.log" 2>/dev/null && return 0
    kill -0 "$PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# Epochs recorded in DIR/history.csv.
epochs_done() { [ -f "$1/history.csv" ] && tail -n +2 "$1/history.csv" | wc -l || echo 0; }
evaluates() { "$PX" eval --model "$1" --json >"$1.eval.json" 2>"$1.eval.err" && grep -q '"test"' "$1.eval.json"; }
resumes() { # DIR EPOCHS
  "$PX" train --resume "$1" --epochs "$2" --no-report >"$1.resume.log" 2>&1 &&
    grep -q "resuming" "$1.resume.log" && [ "$(epochs_done "$1")" -eq "$2" ]
}

for sig in INT TERM HUP; do
  D=$TMP/run_$sig
  start "$D"
  if ! wait_epoch "$D"; then bad "SIG$sig: the run never reached epoch 1"; cat "$D.log"; continue; fi
  sleep "0.$((RANDOM % 9 + 1))" # somewhere inside a later epoch
  kill -"$sig" "$PID"
  wait "$PID"
  st=$?
  check "SIG$sig: exit status 130 (got $st)" [ "$st" -eq 130 ]
  check "SIG$sig: names the signal and how to resume" grep -q "interrupted (SIG$sig).*pixloc: resume with: pixloc train --resume $D" <(tr '\n' ' ' <"$D.log")
  check "SIG$sig: last.safetensors loads (pixloc eval)" evaluates "$D/last.safetensors"
  n=$(sed -n 's/.*interrupted (SIG[A-Z]*) at epoch \([0-9]*\) step.*/\1/p' "$D.log")
  check "SIG$sig: --resume continues to the end of epoch ${n:-?}" resumes "$D" "${n:-1}"
  check "SIG$sig: the resumed run's checkpoint loads" evaluates "$D/last.safetensors"
done

# SIGKILL: once very early (before any checkpoint), then at random moments.
kills=0 with_ckpt=0
for k in 1 2 3 4; do
  D=$TMP/kill_$k
  start "$D"
  if [ "$k" -eq 1 ]; then
    sleep 0.05 # while it starts up: no checkpoint yet
  else
    wait_epoch "$D" || { bad "SIGKILL $k: the run never reached epoch 1"; continue; }
    sleep "$((RANDOM % 2)).$((RANDOM % 10))" # up to ~2 s: checkpoint writes happen every epoch
  fi
  kill -KILL "$PID" 2>/dev/null
  wait "$PID" 2>/dev/null
  kills=$((kills + 1))
  for f in "$D"/last.safetensors "$D"/best.safetensors; do
    [ -f "$f" ] || continue
    check "SIGKILL $k: $(basename "$f") loads" evaluates "$f"
  done
  if [ -f "$D/last.safetensors" ]; then
    with_ckpt=$((with_ckpt + 1))
    e=$(($(epochs_done "$D") + 1))
    check "SIGKILL $k: --resume to epoch $e works" resumes "$D" "$e"
  fi
done
check "SIGKILL: $with_ckpt of $kills killed runs had a checkpoint to resume" [ "$with_ckpt" -ge 1 ]

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
