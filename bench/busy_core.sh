#!/bin/sh
# bench/busy_core.sh BUILD — "one core taken by another process": workload B
# (the modern net 784-512-256-10, Adam, batch 128, one epoch; bench/bench_backprop.c)
# with 1 thread and with the default thread count (the CLI's: one per online
# core), while a busy loop pinned to one core (taskset) runs beside it.  The
# default must never be slower than 1 thread on a shared machine (issue 14).
#
# Rounds alternate the two settings so machine noise hits both alike; prints
# the median (min–max) of each and the ratio default / 1 thread (≤ 1 is the
# goal).  The loop is started before the first round and killed on exit.
# Not part of `make check`; bench/run.sh calls it after the main workloads.
#
# Knobs (environment):
#   BUSY_RUNS=3       rounds (≥ 3 for a median)
#   BUSY_THREADS=     the "default" thread count (default: nproc)
#   BUSY_CORE=        the core the busy loop is pinned to (default: the last one)
set -u

BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/.." || exit 1
RUNS=${BUSY_RUNS:-3}
NCPU=$(nproc 2>/dev/null || echo 1)
THREADS=${BUSY_THREADS:-$NCPU}
CORE=${BUSY_CORE:-$((NCPU - 1))}
CC=${CC:-cc}
BP="$BUILD/bench_backprop"
say() { printf '%s\n' "$*" >&2; }

if [ ! -x "$BP" ] || [ "$BUILD/libbackprop.a" -nt "$BP" ]; then
    [ -f "$BUILD/libbackprop.a" ] || { say "busy_core: $BUILD/libbackprop.a missing (run make first)"; exit 1; }
    $CC -O2 -std=c11 -Wall -Wextra -Wpedantic -D_POSIX_C_SOURCE=200809L -Iinclude \
        bench/bench_backprop.c "$BUILD/libbackprop.a" -lz -lm -lpthread -o "$BP" || exit 1
fi
if ! "$BP" L >/dev/null 2>&1; then
    say "busy_core: skipped (Fashion-MNIST not found: apt-get install dataset-fashion-mnist)"
    exit 0
fi
if [ "$THREADS" -le 1 ]; then
    say "busy_core: skipped (one core: nothing to compare)"
    exit 0
fi

# The other process: a shell busy loop on one core, in a session of its own
# (setsid) as another user's or terminal's program would be: with Linux's
# autogroups a loop in the bench's own session would share the bench's CPU
# share instead of competing with it.
PIN=""
if command -v taskset >/dev/null 2>&1; then PIN="taskset -c $CORE"; else
    say "busy_core: no taskset: the busy loop is not pinned"; fi
command -v setsid >/dev/null 2>&1 && PIN="setsid $PIN"
$PIN sh -c 'while :; do :; done' &
BUSY=$!
trap 'kill "$BUSY" 2>/dev/null' EXIT INT TERM
sleep 1

# One epoch of workload B; prints its train_s.
epoch() {
    "$BP" B "$1" 1 1 2>/dev/null | sed -n 's/^backprop-B .*train_s=\([0-9.]*\).*/\1/p'
}
T1="" TD=""
r=1
while [ "$r" -le "$RUNS" ]; do
    a=$(epoch 1) b=$(epoch "$THREADS")
    say "busy_core: round $r: 1 thread ${a:-?} s, $THREADS threads ${b:-?} s"
    T1="$T1 $a" TD="$TD $b"
    r=$((r + 1))
done
kill "$BUSY" 2>/dev/null
trap - EXIT INT TERM

# median and min–max of a list of numbers
stats() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "- - -"; exit }
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.3f %.3f %.3f\n", m, v[1], v[NR] }'; }
set -- $(stats "$T1") $(stats "$TD")
printf 'busy-core threads=1 median_s=%s min_s=%s max_s=%s\n' "$1" "$2" "$3"
printf 'busy-core threads=%s median_s=%s min_s=%s max_s=%s\n' "$THREADS" "$4" "$5" "$6"
awk -v a="$1" -v b="$4" -v t="$THREADS" 'BEGIN {
    if (a > 0 && b > 0) printf "busy-core ratio default(%d)/1 = %.2f (%s)\n", t, b / a,
        b <= a * 1.02 ? "ok: not slower than 1 thread" : "SLOWER than 1 thread" }'
