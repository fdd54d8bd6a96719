#!/bin/sh
# Multi-process training (docs/scaling.md): `mpirun -np P backprop train`
# writes the same model file, byte for byte, as one process with the same
# --shards (plain SGD, momentum, Adam with dropout and clipping; 2 and 4
# processes); a checkpoint of a 2-process run resumes on 1 and 4 processes to
# the bits of an uninterrupted run; a rank that cannot read its data, a rank
# killed mid-run, ranks that disagree and a shard count the processes cannot
# share stop the whole job with a message naming the rank, leaving the
# previous model; a signal to a rank stops all at one step and rank 0 saves
# the model; rank 0 alone writes.
TEST=cli_mpi; . "$(dirname "$0")/lib.sh"
if ! command -v mpirun >/dev/null 2>&1; then
    echo "cli_mpi: skipped (no mpirun: apt-get install openmpi-bin libopenmpi-dev, then make)"
    exit 0
fi
if ! ldd "$BP" 2>/dev/null | grep -q libmpi; then
    echo "cli_mpi: skipped ($BP was built without MPI: make with mpicc installed)"
    exit 0
fi
# What a container needs, kept here and out of the user's way: running as
# root, more ranks than the 2 cores, no cross-memory attach (ptrace is
# usually forbidden there), no leak report from MPI's own start-up.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl=self,vader
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export BACKPROP_ISA=portable
MPIRUN="mpirun --oversubscribe"
D=data/digits.csv

# same_bits NAME OPTIONS...: 1 process and 2 and 4 processes, --shards 4.
# Ranks on one machine share their vectors through a shared-memory window;
# SHM=0 exports BACKPROP_MPI_SHM=0 to every rank: the message path (what
# ranks on several machines use).
same_bits() {
    name=$1; shift
    "$BP" train "$D" --hidden 24 --epochs 2 --shards 4 --seed 3 --threads 1 -q \
        -o "$T/$name.1.bpm" "$@" >/dev/null 2>"$T/err" || { bad "$name: 1 process"; cat "$T/err"; return; }
    for p in 2 4; do
        # timeout: a reduce that deadlocks fails the test instead of hanging it
        if ! BACKPROP_MPI_SHM=${SHM:-1} timeout 120 $MPIRUN -x BACKPROP_MPI_SHM -np $p "$BP" train "$D" \
            --hidden 24 --epochs 2 --shards 4 --seed 3 \
            --threads 1 -q -o "$T/$name.$p.bpm" "$@" >/dev/null 2>"$T/err"; then
            bad "$name: mpirun -np $p"; cat "$T/err"; continue
        fi
        if cmp -s "$T/$name.1.bpm" "$T/$name.$p.bpm"; then ok
        else bad "$name: $p processes wrote other bits than 1 process with --shards 4"; fi
    done
}
same_bits sgd --optimizer sgd --lr 0.05 --batch 20
same_bits momentum --optimizer momentum --lr 0.02 --batch 16
same_bits adam --optimizer adam --dropout 0.2 --clip 0.5 --batch 30
# Steps that only read the combined gradient (sgd, momentum, AdamW's
# decoupled decay, wide) share the parameters and optimizer state in the
# window, each rank summing and updating its part; L2 decay and clipping
# change the total in place, so each rank keeps its own (adam above, sgd-l2).
# SHM=total: the one shared total those steps took before.
same_bits sgd-l2 --optimizer sgd --lr 0.05 --weight-decay 0.01 --batch 20
same_bits adamw --optimizer adamw --weight-decay 0.05 --batch 30
# 52,510 weights: slices of several 8,192-float chunks (the reduce exchanges
# and sums a chunk at a time), of unequal length on 4 ranks, 2 shards a rank
# on 2.
same_bits wide --optimizer adam --hidden 700 --batch 40 --epochs 1
# Early stopping puts the best epoch's weights back: each rank its part.
same_bits best --optimizer adam --hidden 700 --batch 40 --epochs 4 --val 0.3 --patience 1 \
    --min-delta 0.05
SHM=total same_bits adamw-total --optimizer adamw --weight-decay 0.05 --batch 30
SHM=total same_bits wide-total --optimizer adam --hidden 700 --batch 40 --epochs 1
# Shared state across runs: a checkpoint of 2 processes resumes on 4 and on
# 1 to the bits of the uninterrupted run (the state is copied out whole).
"$BP" train "$D" --hidden 700 --epochs 2 --shards 4 --seed 3 --threads 1 --optimizer adam \
    --batch 40 -q -o "$T/ss.1.bpm" >/dev/null 2>&1
timeout 120 $MPIRUN -np 2 "$BP" train "$D" --hidden 700 --epochs 1 --shards 4 --seed 3 \
    --threads 1 --optimizer adam --batch 40 -q -o "$T/ss.half.bpm" --checkpoint "$T/ss.bpc" \
    >/dev/null 2>"$T/err" || { bad "shared state: the first epoch on 2 processes"; cat "$T/err"; }
for p in 4 1; do
    rm -f "$T/ss.r.bpm"
    if [ "$p" -eq 1 ]; then run="$BP"; else run="timeout 120 $MPIRUN -np $p $BP"; fi
    $run train "$D" --resume "$T/ss.bpc" --epochs 2 --threads 1 -q -o "$T/ss.r.bpm" \
        >/dev/null 2>"$T/err" || { bad "shared state: resume on $p"; cat "$T/err"; }
    cmp -s "$T/ss.1.bpm" "$T/ss.r.bpm" && ok ||
        bad "shared state: a 2-process checkpoint resumed on $p gave other bits"
done
SHM=0 same_bits adam-messages --optimizer adam --dropout 0.2 --clip 0.5 --batch 30
SHM=0 same_bits wide-messages --optimizer adam --hidden 700 --batch 40 --epochs 1

# Under mpirun without --shards: shards = processes (said once), threads =
# cores / processes here, rank 0 alone prints, logs and checkpoints.
I="data/iris.csv --hidden 8 --epochs 3 --seed 5 --val 0.2 --threads 1"
$MPIRUN -np 2 "$BP" train $I -o "$T/two.bpm" --log "$T/two.csv" --checkpoint "$T/two.bpc" \
    >"$T/out" 2>"$T/err" && ok || { bad "mpirun -np 2 without --shards"; cat "$T/err"; }
contains "$T/err" "2 processes: --shards 2" "the default shard count is said"
[ "$(grep -c 'processes: --shards' "$T/err")" -eq 1 ] && ok || bad "the note is said once"
[ "$(grep -c '^saved ' "$T/out")" -eq 1 ] && ok || bad "rank 0 alone reports"
[ "$(wc -l <"$T/two.csv")" -eq 4 ] && ok || bad "the log has a header and 3 rows, once"
"$BP" train $I --shards 2 -q -o "$T/two1.bpm" >/dev/null 2>&1
cmp -s "$T/two.bpm" "$T/two1.bpm" && ok || bad "-np 2 without --shards = 1 process --shards 2"
"$BP" info "$T/two.bpc" >/dev/null 2>&1 && ok || bad "rank 0's checkpoint loads"
$MPIRUN -np 2 "$BP" train $I -q -o "$T/th.bpm" --threads 1 >/dev/null 2>&1
$MPIRUN -np 2 "$BP" train data/iris.csv --epochs 1 -o "$T/th.bpm" --force >"$T/out" 2>&1
cores=$(nproc 2>/dev/null || echo 2); want=$((cores / 2)); [ "$want" -ge 1 ] || want=1
contains "$T/out" "$want threads per process × 2 processes" "--threads defaults to cores / processes"

# Resume across process counts: 2 epochs on 2 processes, then 2 more on 1
# and on 4, equal the 4 epochs of one uninterrupted run.
R="data/iris.csv --hidden 16 --seed 4 --threads 1 -q --dropout 0.1 --val 0.1"
"$BP" train $R --shards 4 --epochs 4 -o "$T/ref.bpm" >/dev/null 2>&1
$MPIRUN -np 2 "$BP" train $R --shards 4 --epochs 2 -o "$T/half.bpm" --checkpoint "$T/ck.bpc" \
    >/dev/null 2>&1 && ok || bad "the 2-process run with --checkpoint"
cp "$T/ck.bpc" "$T/ck1.bpc"
"$BP" train data/iris.csv --resume "$T/ck1.bpc" --epochs 4 -o "$T/r1.bpm" -q >/dev/null 2>&1
cmp -s "$T/ref.bpm" "$T/r1.bpm" && ok || bad "2-process checkpoint resumed on 1 process: other bits"
$MPIRUN -np 4 "$BP" train data/iris.csv --resume "$T/ck.bpc" --epochs 4 -o "$T/r4.bpm" -q \
    >/dev/null 2>"$T/err" || { bad "resume on 4 processes"; cat "$T/err"; }
cmp -s "$T/ref.bpm" "$T/r4.bpm" && ok || bad "2-process checkpoint resumed on 4 processes: other bits"
$MPIRUN -np 3 "$BP" train data/iris.csv --resume "$T/ck.bpc" --epochs 4 -o "$T/r3.bpm" -q \
    >/dev/null 2>"$T/err" && bad "4 shards resumed on 3 processes ran" || ok
contains "$T/err" "3 processes need a shard count they divide (shards is 4)" "shards vs processes"

# Failures leave the previous model at -o.
"$BP" train data/iris.csv --epochs 1 -q -o "$T/prev.bpm" >/dev/null 2>&1
cp "$T/prev.bpm" "$T/m.bpm"
intact() { cmp -s "$T/prev.bpm" "$T/m.bpm" && ok || bad "$1: the previous model was replaced"; }
# A rank that cannot read its data (MPMD: rank 1 is given another file).
$MPIRUN -np 1 "$BP" train data/iris.csv --epochs 2 -q -o "$T/m.bpm" --force : \
    -np 1 "$BP" train "$T/none.csv" --epochs 2 -q -o "$T/m.bpm" --force >"$T/out" 2>"$T/err" &&
    bad "a rank without its data: exit 0" || ok
contains "$T/err" "rank 1 of 2 could not start: $T/none.csv: cannot open" "the failing rank is named"
intact "a rank without its data"
# Ranks that disagree are refused by name.
$MPIRUN -np 1 "$BP" train data/iris.csv --epochs 2 -q -o "$T/m.bpm" --force : \
    -np 1 "$BP" train data/iris.csv --epochs 2 --lr 0.1 -q -o "$T/m.bpm" --force \
    >"$T/out" 2>"$T/err" && bad "disagreeing ranks: exit 0" || ok
contains "$T/err" "rank 1 of 2 differs from rank 0 in the training options" "disagreement named"
$MPIRUN -np 1 "$BP" train data/iris.csv --epochs 2 -q -o "$T/m.bpm" --force : \
    -np 1 env BACKPROP_BF16=emulate "$BP" train data/iris.csv --epochs 2 --precision bf16 -q \
    -o "$T/m.bpm" --force >"$T/out" 2>"$T/err" && bad "ranks in fp32 and bf16: exit 0" || ok
contains "$T/err" "rank 1 of 2 differs from rank 0 in the training options" "a precision that differs"
sed '2s/^5\.1/5.3/' data/iris.csv >"$T/iris2.csv"
$MPIRUN -np 2 "$BP" train data/iris.csv --epochs 2 -q -o "$T/m.bpm" --force : \
    -np 1 "$BP" train "$T/iris2.csv" --epochs 2 -q -o "$T/m.bpm" --force \
    >"$T/out" 2>"$T/err" && bad "other data: exit 0" || ok
contains "$T/err" "rank 2 of 3 differs from rank 0 in the data" "other data named"
intact "disagreeing ranks"
# Shards the processes cannot share: a usage error.
$MPIRUN -np 2 "$BP" train data/iris.csv --shards 3 -q -o "$T/m.bpm" --force >/dev/null \
    2>"$T/err" && bad "--shards 3 on 2 processes ran" || ok
contains "$T/err" "--shards 3 cannot be shared by 2 processes" "--shards 3 on 2"

# wait_for FILE TEXT: up to 20 s for TEXT to appear.
wait_for() {
    i=0
    while [ $i -lt 200 ] && ! grep -q "$2" "$1" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
}
LONG="$D --hidden 64 --epochs 1000 --batch 4 --threads 1 -o $T/m.bpm --force"
# A job that fails to end (a rank missing the stop) is killed after 120 s, so
# a regression fails the test instead of hanging make check.
watchdog() {
    (sleep 120 & nap=$!; trap 'kill $nap; exit 0' TERM; wait $nap; kill "$1") >/dev/null 2>&1 &
    dog=$!
}
# A rank killed mid-run ends the job in seconds; the launcher names it.
if command -v pgrep >/dev/null 2>&1; then
    $MPIRUN -np 2 "$BP" train $LONG >"$T/out" 2>"$T/err" &
    job=$!
    watchdog $job
    wait_for "$T/out" "^epoch 1/"
    for c in $(pgrep -P $job); do
        tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 &&
            kill -9 "$c"
    done
    wait $job && bad "a killed rank: exit 0" || ok
    kill $dog 2>/dev/null
    contains "$T/err" "rank 1" "the killed rank is named"
    contains "$T/err" "signal 9" "and how it ended"
    intact "a killed rank"
else
    echo "cli_mpi: the killed-rank check skipped (no pgrep)"
fi
# A signal to one rank (here rank 1 alone) stops every rank after the same
# step: the stop request is a statistic of the reduce.  Rank 0 saves and the
# job exits 128 + 15.  (mpirun's own Ctrl-C handling tears the job down on a
# timer of its own, so the test signals a rank, as docs/scaling.md advises.)
if command -v pgrep >/dev/null 2>&1; then
    $MPIRUN -np 2 "$BP" train $LONG >"$T/out" 2>"$T/err" &
    job=$!
    watchdog $job
    wait_for "$T/out" "^epoch 1/"
    for c in $(pgrep -P $job); do
        tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 &&
            kill -TERM "$c"
    done
    wait $job; rc=$?
    kill $dog 2>/dev/null
    [ "$rc" -eq 143 ] && ok || bad "a signalled rank: exit $rc, expected 143"
    contains "$T/err" "model saved to $T/m.bpm" "a signal to one rank: rank 0 saves the model"
    "$BP" info "$T/m.bpm" >/dev/null 2>&1 && ok || bad "the saved model loads"
    cmp -s "$T/prev.bpm" "$T/m.bpm" && bad "the interrupted job kept the old model" || ok
fi

# BACKPROP_MPI_TIMING=1: rank 0 says what the reduce cost.
BACKPROP_MPI_TIMING=1 $MPIRUN -np 2 "$BP" train $I -q -o "$T/t.bpm" >/dev/null 2>"$T/err"
contains "$T/err" "mpi: 2 processes," "the reduce's timing"
contains "$T/err" "the parameters and optimizer state shared" \
    "ranks on one machine share the state when the step only reads the total"
contains "$T/err" "part of the gradient sum and update took" "the update's part is timed"
BACKPROP_MPI_TIMING=1 BACKPROP_MPI_SHM=total $MPIRUN -x BACKPROP_MPI_SHM -np 2 "$BP" train $I \
    -q -o "$T/t.bpm" >/dev/null 2>"$T/err"
contains "$T/err" "through a shared-memory window, into one shared total" \
    "BACKPROP_MPI_SHM=total: one shared total"
BACKPROP_MPI_TIMING=1 $MPIRUN -np 2 "$BP" train $I --clip 1 -q -o "$T/t.bpm" >/dev/null 2>"$T/err"
contains "$T/err" "through a shared-memory window" "clipping: still through the window"
lacks "$T/err" "one shared total" "clipping changes the total: one per rank"
BACKPROP_MPI_TIMING=1 BACKPROP_MPI_SHM=0 $MPIRUN -x BACKPROP_MPI_SHM -np 2 "$BP" train $I -q \
    -o "$T/t.bpm" >/dev/null 2>"$T/err"
contains "$T/err" "by messages" "BACKPROP_MPI_SHM=0: the message path"
# Rank 0's BACKPROP_MPI_TIMING decides for every rank (a timing barrier on one
# rank alone would hang the job); ranks on different kernel paths are noted.
$MPIRUN -np 1 env BACKPROP_MPI_TIMING=1 "$BP" train $I -q -o "$T/t2.bpm" : \
    -np 1 env -u BACKPROP_ISA "$BP" train $I -q -o "$T/t2.bpm" >/dev/null 2>"$T/err" && ok ||
    { bad "timing asked on rank 0 only"; cat "$T/err"; }
contains "$T/err" "mpi: 2 processes," "rank 0's timing"
if grep -qw avx2 /proc/cpuinfo; then
    contains "$T/err" "rank 1 computes with the" "ranks on different kernel paths are noted"
fi
# A plain run does not start MPI (no launcher in its environment).
env -u OMPI_COMM_WORLD_SIZE "$BP" train $I -q -o "$T/plain.bpm" >/dev/null 2>"$T/err" && ok ||
    { bad "a plain run"; cat "$T/err"; }

echo "cli_mpi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
