#!/bin/sh
# Before/after: the same workloads on two builds of libbackprop, interleaved
# in one run on one machine, with medians and the ratio after/before.  Used to
# show a refactor leaves speed unchanged (issue 12's acceptance).
#   sh bench/compare_builds.sh BEFORE_BUILD AFTER_BUILD [rounds]
# Each build dir must hold libbackprop.a.  Workloads (bench/bench_backprop.c):
# A: the article-style net 784-?-10 sigmoid, batch 1 (online SGD), one epoch;
# B: the modern net 784-512-256-10 ReLU/softmax, Adam, batch 128, one epoch,
#    on 2 threads and on 1; C: inference.  BENCH_TRAIN_ROWS (default 20000)
#    trims the training set so a round stays short.
set -u
BEFORE=$1 AFTER=$2 ROUNDS=${3:-5}
cd "$(dirname "$0")/.." || exit 1
CC=${CC:-cc}
export BENCH_TRAIN_ROWS=${BENCH_TRAIN_ROWS:-20000}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for b in "$BEFORE" "$AFTER"; do
    $CC -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude bench/bench_backprop.c "$b/libbackprop.a" \
        -lz -lm -lpthread -o "$b/bench_backprop" || exit 1
done
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
run() { # tag build args...
    tag=$1 b=$2; shift 2
    "$b/bench_backprop" "$@" 2>/dev/null >>"$OUT/$tag"
}
r=0
while [ $r -lt "$ROUNDS" ]; do
    for side in before after; do
        b=$BEFORE; [ $side = after ] && b=$AFTER
        run "A.$side" "$b" A 1
        run "B2.$side" "$b" B 2 1 1
        run "B1.$side" "$b" B 1 1 1
        run "C.$side" "$b" C 1
    done
    r=$((r + 1))
done
printf '| workload | before | after | after/before |\n|---|---|---|---|\n'
row() { # name file field
    x=$(field "$3" <"$OUT/$2.before" | median) y=$(field "$3" <"$OUT/$2.after" | median)
    printf '| %s | %s | %s | %s |\n' "$1" "$x" "$y" "$(awk -v a="$x" -v b="$y" 'BEGIN { printf "%.3f", b / a }')"
}
row "A: article-style net, batch 1, s/epoch" A train_s
row "B: 784-512-256-10 Adam b128, 2 threads, s/epoch" B2 train_s
row "B: same, 1 thread, s/epoch" B1 train_s
row "C: inference batch 1, µs/sample" C batch1
row "C: inference batch 128, µs/sample" C batch128
