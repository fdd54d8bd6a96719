#!/bin/sh
# bench/profile.sh BUILD — where the time goes (the numbers behind docs/performance.md).
# Not part of `make bench` or `make check`.  Writes bench/out/profile-*.txt.
#
#  1. A cpu-clock sampling profile (perf record -e cpu-clock: works without hardware
#     counters, e.g. in a VM) of each workload, top symbols; with no usable perf,
#     valgrind --tool=callgrind on a 2000-row run instead.
#  2. Ablations, 3 runs each, interleaved: default kernels vs BACKPROP_ISA=portable,
#     1 vs 2 threads, and our GEMM vs OpenBLAS's (needs `make BLAS=openblas`, BUILD/openblas).
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
OUT=bench/out
mkdir -p "$OUT"
CC=${CC:-cc}
FLAGS="-O2 -std=c11 -Wall -Wextra -Wpedantic -D_POSIX_C_SOURCE=200809L -Iinclude"
$CC $FLAGS bench/bench_backprop.c "$BUILD/libbackprop.a" -lz -lm -lpthread -o "$BUILD/bench_backprop" || exit 1
BP=$BUILD/bench_backprop
OB=""
if [ -f "$BUILD/openblas/libbackprop.a" ] &&
    $CC $FLAGS bench/bench_backprop.c "$BUILD/openblas/libbackprop.a" -lopenblas -lz -lm -lpthread \
        -o "$BUILD/openblas/bench_backprop"; then
    OB=$BUILD/openblas/bench_backprop
fi

top() { grep -v '^#' | grep -v '^$' | head -n "${1:-15}"; }
for w in "A 1" "B 1 1 1" "B 2 1 1" "C 1"; do
    name=$(echo "$w" | tr -d ' ')
    f="$OUT/profile-$name.txt"
    if perf record -q -F 999 -e cpu-clock -o "$OUT/perf-$name.data" -- $BP $w >"$f" 2>/dev/null; then
        perf report -i "$OUT/perf-$name.data" --stdio --no-children --sort dso,symbol 2>/dev/null | top 20 >>"$f"
    else
        BENCH_TRAIN_ROWS=2000 valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind-$name.out" \
            $BP $w >"$f" 2>/dev/null
        callgrind_annotate "$OUT/callgrind-$name.out" 2>/dev/null | head -n 40 >>"$f"
    fi
    echo "== bench_backprop $w"; cat "$f"
done

echo "== ablations (3 rounds, interleaved)"
abl="$OUT/ablation.log"
: >"$abl"
for r in 1 2 3; do
    for isa in default portable; do
        e=""; [ $isa = portable ] && e="BACKPROP_ISA=portable"
        env $e $BP A 1 2>/dev/null | sed "s/^/isa=$isa /" >>"$abl"
        env $e $BP B 2 1 1 2>/dev/null | sed "s/^/isa=$isa /" >>"$abl"
    done
    $BP B 1 1 1 2>/dev/null | sed "s/^/isa=default /" >>"$abl"
    if [ -n "$OB" ]; then
        OPENBLAS_NUM_THREADS=1 $OB B 1 1 1 2>/dev/null | sed "s/^/gemm=openblas /" >>"$abl"
        OPENBLAS_NUM_THREADS=2 $OB B 2 1 1 2>/dev/null | sed "s/^/gemm=openblas /" >>"$abl"
    fi
done
grep -v rss "$abl" | sort
