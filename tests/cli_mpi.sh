#!/usr/bin/env bash
# Data-parallel training over MPI (a -DPIXLOC_MPI=ON build; registered only there, label mpi):
# `mpirun -np 2` on PoCL's one CPU device, tiny shapes.
#  - two 2-process runs are the same run bit for bit (checkpoints, history.csv losses, metrics);
#  - a 2-process run is a 1-process run of the same global batch up to float rounding
#    (tests/mpi_close.py: history.csv losses, weights and BN statistics within 1e-5 relative,
#    test metrics within one sample; measured here: up to 8.8e-7 and 7.4e-7, metrics equal);
#  - the same with 3 processes (uneven shares of the batch); a batch without a sample for each
#    process is refused;
#  - a 2-process run stopped mid-epoch (SIGTERM to process 0 only: both stop at the same step,
#    the one process 0 writes a resumable checkpoint) and resumed with 2 processes equals one that
#    never stopped;
#  - a process killed with SIGKILL mid-run ends the job within seconds with MPI's message naming
#    it, and the last checkpoint loads with `pixloc eval`.
# Usage: bash tests/cli_mpi.sh path/to/pixloc
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib_cli.sh
. "$HERE/lib_cli.sh"
command -v mpirun >/dev/null || cli_skip "no mpirun (apt-get install openmpi-bin)"
# CI runs as root; shared-memory transport between the processes of one machine, no network.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1
MPI=(mpirun -np 2 --oversubscribe --mca btl self,vader)
same() { python3 "$HERE/ckpt_same.py" "$@"; }
losses() { cut -d, -f1-5 "$1"; }
not() { ! "$@"; }
TINY=(--samples 400 --size 16x16 --channels 4,8,4 --epochs 2 --batch-size 32 --seed 5 --no-report)

# Bit-identical reruns (the second with a device list, one entry per process).
"${MPI[@]}" "$PX" train "${TINY[@]}" --out a >a.txt 2>&1
ra=$?
"${MPI[@]}" "$PX" train "${TINY[@]}" --quiet --device 0,0 --out b >b.txt 2>&1
rb=$?
check "2 processes: both runs succeed ($ra, $rb)" [ "$ra" -eq 0 ] && [ "$rb" -eq 0 ]
[ "$ra" -eq 0 ] || cat a.txt
check "2 processes: the log says how the batch is split" grep -q "data parallel: 2 processes, this one (0) takes 16 of each batch of 32" a.txt
check "2 processes: rerun, the same last.safetensors" same a/last.safetensors b/last.safetensors
check "2 processes: rerun, the same best.safetensors" same a/best.safetensors b/best.safetensors
check "2 processes: rerun, the same history.csv losses" cmp -s <(losses a/history.csv) <(losses b/history.csv)
check "2 processes: rerun, the same metrics.json" cmp -s a/metrics.json b/metrics.json

# Against one process with the whole batch (no mpirun).
"$PX" train "${TINY[@]}" --quiet --out one >one.txt 2>&1
check "1 process: the run succeeds" [ $? -eq 0 ]
check "2 processes against 1: the same up to rounding" python3 "$HERE/mpi_close.py" one a 1e-5
check "2 processes against 1: not bit for bit (the gradient sums differ in order)" not same one/last.safetensors a/last.safetensors

# 3 processes: uneven shares (11, 11, 10 of 32) and a sum of three gradients, whose order matters.
MPI3=(mpirun -np 3 --oversubscribe --mca btl self,vader)
"${MPI3[@]}" "$PX" train "${TINY[@]}" --quiet --out c >c.txt 2>&1
rc=$?
"${MPI3[@]}" "$PX" train "${TINY[@]}" --quiet --out d >d.txt 2>&1
check "3 processes: both runs succeed ($rc, $?)" [ "$rc" -eq 0 ] && [ -f d/last.safetensors ]
check "3 processes: rerun, the same last.safetensors" same c/last.safetensors d/last.safetensors
check "3 processes against 1: the same up to rounding" python3 "$HERE/mpi_close.py" one c 1e-5

# A batch too small to give each of 3 processes a sample (288 training samples, batches of 143:
# the last has 2) is refused before training, naming the numbers.
"${MPI3[@]}" "$PX" train --samples 400 --size 16x16 --channels 4 --batch-size 143 --bn-reestimate 0 --out z >z.txt 2>&1
check "3 processes, a batch of 2: refused ($?)" grep -q "3 processes need at least 3 samples in every batch, but with 288 training samples and --batch-size 143 a batch has 2" z.txt
check "3 processes, a batch of 2: no run directory" [ ! -e z/config.json ]

# Stopped mid-epoch and resumed (constant rate: the resumed run's schedule is that of the total).
LONG=(--samples 4000 --size 16x16 --channels 4,8,4 --batch-size 32 --seed 7 --lr-schedule constant --no-report --quiet)
"${MPI[@]}" "$PX" train "${LONG[@]}" --epochs 3 --out r >r.txt 2>&1 &
job=$!
for _ in $(seq 600); do grep -q '^1,' r/history.csv 2>/dev/null && break; sleep 0.1; done
rank0=""
for p in $(pgrep -P "$job"); do tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=0 && rank0=$p; done
[ -n "$rank0" ] && kill -TERM "$rank0"
wait "$job"
rs=$?
check "stopped: SIGTERM to process 0 stops the run with a checkpoint ($rs)" grep -q "pixloc train --resume r" r.txt
step=$(sed -n 's/.*interrupted (SIGTERM) at epoch \([0-9]*\) step \([0-9]*\);.*/\1 \2/p' r.txt)
echo "stopped at epoch/step: $step"
check "stopped: mid-epoch (epoch 2 or 3, step > 0)" [ -n "$step" ] && [ "${step#* }" -gt 0 ]
"${MPI[@]}" "$PX" train --resume r --quiet --no-report >rr.txt 2>&1
check "resumed with 2 processes: the run succeeds" [ $? -eq 0 ]
"${MPI[@]}" "$PX" train "${LONG[@]}" --epochs 3 --out u >u.txt 2>&1
check "resumed: the same last.safetensors as a run that never stopped" same r/last.safetensors u/last.safetensors
check "resumed: the same history.csv losses" cmp -s <(losses r/history.csv) <(losses u/history.csv)
check "config.json records 2 processes" grep -q '"processes":2' r/config.json
check "resumed with the same number: no warning" bash -c '! grep -q "resumed by" rr.txt'
"$PX" train --resume r --epochs 4 --quiet --no-report >r1.txt 2>&1
check "resumed by 1 process: it trains on" [ $? -eq 0 ]
check "... with a warning that it is no longer bit-identical" grep -q "trained by 2 processes and is resumed by 1" r1.txt

# A process killed mid-run: the job ends within seconds and the last checkpoint is whole.
"${MPI[@]}" "$PX" train "${LONG[@]}" --epochs 100 --out k >k.txt 2>&1 &
job=$!
for _ in $(seq 600); do grep -q '^2,' k/history.csv 2>/dev/null && break; sleep 0.1; done
rank1=""
for p in $(pgrep -P "$job"); do tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 && rank1=$p; done
check "killed: found process 1" [ -n "$rank1" ]
t0=$(date +%s)
[ -n "$rank1" ] && kill -KILL "$rank1"
for _ in $(seq 300); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
t1=$(date +%s)
check "killed: the job ended within 20 s of the kill ($((t1 - t0)) s)" not kill -0 "$job" 2>/dev/null
wait "$job"
rk=$?
check "killed: a failure status ($rk)" [ "$rk" -ne 0 ]
check "killed: mpirun names the process that died" grep -q "rank 1 .*exited on signal 9" k.txt
"$PX" eval --model k >ke.txt 2>&1
check "killed: the last checkpoint loads and evaluates" [ $? -eq 0 ]
cli_summary
