#!/bin/sh
# bench/mpi.sh BUILD — data-parallel training with MPI (docs/scaling.md).
#
# Fashion-MNIST, 784-512-256-10, Adam, batch 128, no validation split:
#   1 process × 1 thread, 1 process × 2 threads, 2 processes × 1 thread
# (mpirun, --shards 2; and again with BACKPROP_MPI_SHM=total, the one shared
# total before shared state), BENCH_MPI_EPOCHS epochs each, timed per epoch from
# the training log; the 2-process run also reports the all-reduce's time per
# step (BACKPROP_MPI_TIMING=1, measured around the reduce hook on rank 0).
# Prints a markdown section on standard output (bench/run.sh appends it to
# bench/results.md) and keeps the logs in bench/out/mpi_*.  Goals (issue 8):
# 2 processes ≥ 1.6× one process with one thread; all-reduce ≤ 10% of a step.
#
# Knobs: BENCH_MPI_EPOCHS=2, BENCH_MPI_ROUNDS=3, BENCH_MPI_BIND=none (mpirun --bind-to), BACKPROP_DATA (directory of the IDX files;
# default /usr/share/datasets/fashion-mnist, apt-get install
# dataset-fashion-mnist).  Needs mpirun and a build made with mpicc.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
BP="$BUILD/backprop"
OUT=bench/out
EPOCHS=${BENCH_MPI_EPOCHS:-2}
mkdir -p "$OUT"
say() { printf '%s\n' "$*" >&2; }

skip() {
    printf '\n## MPI: 1 × 2 threads vs 2 processes × 1 thread\n\nSkipped: %s\n' "$1"
    say "bench/mpi.sh: skipped: $1"
    exit 0
}
command -v mpirun >/dev/null 2>&1 || skip "no mpirun (apt-get install openmpi-bin libopenmpi-dev)"
ldd "$BP" 2>/dev/null | grep -q libmpi || skip "$BP was built without MPI (make with mpicc installed)"
DATA=${BACKPROP_DATA:-/usr/share/datasets/fashion-mnist}
[ -d "$DATA" ] || skip "Fashion-MNIST not found in $DATA (apt-get install dataset-fashion-mnist)"

# Running as root (containers).  The shared-memory transport keeps its
# default single-copy mechanism (CMA): it halves the exchange here; where
# ptrace is forbidden OpenMPI falls back to copy-in/copy-out with a warning.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader
TRAIN="train fashion-mnist --layers 784,512,256,10 --optimizer adam --batch 128 --val 0
       --epochs $EPOCHS --seed 1 -q"

# run NAME "LAUNCHER" "OPTIONS": one configuration, round $round; its log in
# $OUT/mpi_NAME.rROUND.csv, its standard error in $OUT/mpi_NAME.err (the last round's).
run() {
    say "bench/mpi.sh: $1, round $round"
    # shellcheck disable=SC2086 # lists
    BACKPROP_MPI_TIMING=1 $2 "$BP" $TRAIN $3 -o "$OUT/mpi_$1.bpm" --force \
        --log "$OUT/mpi_$1.r$round.csv" >"$OUT/mpi_$1.out" 2>"$OUT/mpi_$1.err" ||
        say "bench/mpi.sh: $1 failed (see $OUT/mpi_$1.err)"
}
# The four runs alternate, ROUNDS times: a host whose load changes during the
# bench then weighs on all four alike (one run after another, the last ones
# met other work the first did not).
ROUNDS=${BENCH_MPI_ROUNDS:-3}
rm -f "$OUT"/mpi_*.r*.csv
round=1
while [ "$round" -le "$ROUNDS" ]; do
    run 1x1 "" "--threads 1"
    run 1x2 "" "--threads 2"
    # Unbound by default: mpirun pins 2 ranks to one core each, which on a
    # shared machine ties each to a core other work also wants
    # (BENCH_MPI_BIND=core on a quiet, dedicated one).
    run 2x1 "mpirun -np 2 --bind-to ${BENCH_MPI_BIND:-none}" "--threads 1 --shards 2"
    # The step before shared state, for comparison: one shared gradient total.
    BACKPROP_MPI_SHM=total run 2x1total \
        "mpirun -x BACKPROP_MPI_SHM -np 2 --bind-to ${BENCH_MPI_BIND:-none}" "--threads 1 --shards 2"
    round=$((round + 1))
done

# med NAME: "median min max" of the per-epoch seconds of every round.
med() {
    for f in "$OUT/mpi_$1".r*.csv; do tail -n +2 "$f" 2>/dev/null; done | cut -d, -f2 | sort -g |
        awk '{ v[NR] = $1 } END { if (!NR) { print "- - -"; exit }
              m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f×", a / b; else print "-" }'; }
set -- $(med 1x1); m11=$1; r11="$2–$3"
set -- $(med 1x2); m12=$1; r12="$2–$3"
set -- $(med 2x1); m21=$1; r21="$2–$3"
set -- $(med 2x1total); m2t=$1; r2t="$2–$3"
timing=$(grep '^mpi: [0-9]' "$OUT/mpi_2x1.err" 2>/dev/null | tail -1)
upd_ms=$(sed -n 's/.*update took \([0-9.]*\) ms per step.*/\1/p' "$OUT/mpi_2x1.err" 2>/dev/null | tail -1)
upd_pct=$(sed -n 's/.*update took [0-9.]* ms per step (\([0-9.]*\)%).*/\1/p' "$OUT/mpi_2x1.err" 2>/dev/null | tail -1)
ttiming=$(grep '^mpi: [0-9]' "$OUT/mpi_2x1total.err" 2>/dev/null | tail -1)
tred_ms=$(printf '%s' "$ttiming" | sed -n 's/.*all-reduce \([0-9.]*\) ms per step.*/\1/p')
tred_pct=$(printf '%s' "$ttiming" | sed -n 's/.*all-reduce [0-9.]* ms per step (\([0-9.]*\)%).*/\1/p')
tstep_ms=$(printf '%s' "$ttiming" | sed -n 's/.*steps, \([0-9.]*\) ms per step.*/\1/p')
step_ms=$(printf '%s' "$timing" | sed -n 's/.*steps, \([0-9.]*\) ms per step.*/\1/p')
red_ms=$(printf '%s' "$timing" | sed -n 's/.*all-reduce \([0-9.]*\) ms per step.*/\1/p')
red_pct=$(printf '%s' "$timing" | sed -n 's/.*all-reduce [0-9.]* ms per step (\([0-9.]*\)%).*/\1/p')
wait_ms=$(printf '%s' "$timing" | sed -n 's/.*slowest rank \([0-9.]*\) ms per step.*/\1/p')
bytes=$(printf '%s' "$timing" | sed -n 's/.*, \([0-9]*\) bytes .*/\1/p')
same=differ
cmp -s "$OUT/mpi_1x1.bpm" "$OUT/mpi_1x2.bpm" && same=same
cmp -s "$OUT/mpi_2x1.bpm" "$OUT/mpi_2x1total.bpm" || same="$same (the two 2-process runs: DIFFERENT)"

cat <<EOF

## MPI: 1 × 2 threads vs 2 processes × 1 thread (bench/mpi.sh)

Fashion-MNIST 784-512-256-10, Adam, batch 128, $ROUNDS alternating rounds of the four runs,
$EPOCHS epochs per run, seconds per epoch (median of all epochs, min–max); $(nproc) cores,
load average at the end $(cut -d' ' -f1-3 /proc/loadavg).

| run | s / epoch | range | speed-up vs 1 × 1 |
|---|---|---|---|
| 1 process × 1 thread | $m11 | $r11 | 1.00× |
| 1 process × 2 threads | $m12 | $r12 | $(ratio "$m11" "$m12") |
| 2 processes × 1 thread (--shards 2) | $m21 | $r21 | $(ratio "$m11" "$m21") |
| the same, one shared total (BACKPROP_MPI_SHM=total) | $m2t | $r2t | $(ratio "$m11" "$m2t") |

2 processes (rank 0, last round) share the parameters and Adam's state; the exchange is two
barriers a step: ${red_ms:-?} ms of a ${step_ms:-?} ms step (${red_pct:-?}%); each process's part of the
gradient sum and update ${upd_ms:-?} ms (${upd_pct:-?}%); ${bytes:-?} bytes read from the
other's shards per step; waiting for the slower rank ${wait_ms:-?} ms per step (load imbalance,
measured by a barrier).  With one shared total instead: all-reduce ${tred_ms:-?} ms of a
${tstep_ms:-?} ms step (${tred_pct:-?}%), and every process runs the whole update.
Goals: 2 processes ≥ 1.6× one process with one thread; all-reduce ≤ 10% of the step.
1 × 1 and 1 × 2 wrote the $same model bytes.
EOF
