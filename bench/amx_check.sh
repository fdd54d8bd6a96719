#!/bin/sh
# bench/amx_check.sh BUILD — one short run on a CPU with AMX (Intel
# Sapphire Rapids and later) to check the AMX kernels, AMX-BF16 and
# AMX-INT8, which were written on a machine without AMX and have never run
# (docs/precision.md, "AMX-BF16"; docs/performance.md, int8):
#   1. the CPU's flags (model, avx512_bf16, amx_*);
#   2. tests/test_bf16 with BACKPROP_AMX=1: the native AMX kernel against the
#      rounded operands' product, the order its hardware adds in (the probe)
#      and how many elements native and simulated AMX give bit for bit;
#   3. workload B (bench_backprop, 1 epoch) in fp32, bf16 on VDPBF16PS and
#      bf16 with BACKPROP_AMX=1, AMX_ROUNDS (3) interleaved rounds, medians;
#   4. tests/test_int8 with BACKPROP_AMX=1: the native AMX-INT8 GEMM against
#      the portable reference's integers on every shape grid (the simulated
#      one passed them on Zen 5), and "int8 path: amx_int8";
#   5. int8 inference (bench/int8_bench.c, 1 thread, 2048 rows): the default
#      VNNI GEMM, then BACKPROP_AMX=1.
# On a CPU without AMX it prints "skipped: no AMX" and exits 0
# (AMX_CHECK_FORCE=1 runs it anyway, to test this script: the native AMX
# tests then skip and the "AMX" timings run VDPBF16PS and VNNI).  About a
# minute on a Xeon; THREADS (all cores) for the timings.  Logs in bench/out/amx-*.
# The exit status is the first failing test's (0 when both pass).
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
OUT=bench/out
mkdir -p "$OUT"
ROUNDS=${AMX_ROUNDS:-3}
THREADS=${THREADS:-$(nproc)}

echo "## AMX check: AMX-BF16 and AMX-INT8 (bench/amx_check.sh)"
echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "flags: $(grep -m 1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx512f|avx512_bf16|avx512_vnni|amx_[a-z0-9]+)$' | tr '\n' ' ')"
if [ "${AMX_CHECK_FORCE:-0}" != 1 ] && { ! grep -qw amx_bf16 /proc/cpuinfo || ! grep -qw amx_int8 /proc/cpuinfo || ! grep -qw amx_tile /proc/cpuinfo; }; then
    echo "amx_check: skipped: no AMX (amx_bf16, amx_int8 and amx_tile not all in /proc/cpuinfo)"
    exit 0
fi

# 2. The tests.  The native kernel is used only where the test's own
# BACKPROP_AMX=1 reaches it; exporting it here too covers the training tests.
if [ ! -x "$BUILD/tests/test_bf16" ] || [ ! -x "$BUILD/tests/test_int8" ]; then
    make -j"$(nproc)" "$BUILD/tests/test_bf16" "$BUILD/tests/test_int8" "$BUILD/libbackprop.a" \
        >"$OUT/amx-build.log" 2>&1 ||
        { echo "amx_check: build failed (see $OUT/amx-build.log)"; exit 1; }
fi
BACKPROP_AMX=1 "$BUILD/tests/test_bf16" >"$OUT/amx-test.log" 2>&1
rc=$?
echo "test_bf16 (BACKPROP_AMX=1): exit $rc, $(grep -c '\[       OK \]' "$OUT/amx-test.log") passed, $(grep -c '\[  FAILED  \] test' "$OUT/amx-test.log") failed"
grep -E 'AMX order|native vs simulated AMX|SKIP|ERROR|FAILED|backprop:' "$OUT/amx-test.log" | sed 's/^/    /'

# 4. and 5., int8: first, as they need no data set.  The native GEMM is
# used where the test's environment (BACKPROP_AMX=1) reaches it.
BACKPROP_AMX=1 "$BUILD/tests/test_int8" >"$OUT/amx-int8-test.log" 2>&1
rc8=$?
echo "test_int8 (BACKPROP_AMX=1): exit $rc8, $(grep -c '\[       OK \]' "$OUT/amx-int8-test.log") passed, $(grep -c '\[  FAILED  \] test' "$OUT/amx-int8-test.log") failed"
grep -E 'int8 path: .*isa avx512|SKIP|ERROR|FAILED|backprop: BACKPROP_AMX' "$OUT/amx-int8-test.log" | sed 's/^/    /'
[ "$rc" -eq 0 ] && rc=$rc8
if ${CC:-cc} -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude bench/int8_bench.c \
    "$BUILD/libbackprop.a" -lz -lm -lpthread -o "$BUILD/int8_bench" 2>"$OUT/amx-int8-bench.err"; then
    echo "int8 inference, 1 thread, 2048 rows, median of 3 (bench/int8_bench.c):"
    echo "    | net | fp32 path | fp32 µs/sample | int8 µs/sample | int8 speed-up |"
    for amx in 0 1; do
        echo "    BACKPROP_AMX=$amx:"
        BACKPROP_AMX=$amx "$BUILD/int8_bench" 2048 3 2>>"$OUT/amx-int8-bench.err" | sed 's/^/    /'
    done
    grep -m 1 'BACKPROP_AMX=1:' "$OUT/amx-int8-bench.err" | sed 's/^/    NOTE: the AMX row ran VNNI: /'
else
    echo "int8 speed: skipped (int8_bench did not build: $OUT/amx-int8-bench.err)"
fi

# 3. Workload B.
if [ -z "${BACKPROP_DATA:-}" ] && [ ! -d /usr/share/datasets/fashion-mnist ]; then
    echo "speed: skipped (no Fashion-MNIST: apt-get install dataset-fashion-mnist, or BACKPROP_DATA)"
    exit "$rc"
fi
${CC:-cc} -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude bench/bench_backprop.c \
    "$BUILD/libbackprop.a" -lz -lm -lpthread -ldl -o "$BUILD/bench_backprop" || exit 1
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
: >"$OUT/amx-speed.txt"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for way in fp32 bf16 amx; do
        p=$way amx=0
        [ "$way" = amx ] && p=bf16 amx=1
        t=$(BACKPROP_AMX=$amx BENCH_PRECISION=$p "$BUILD/bench_backprop" B "$THREADS" 1 1 2>>"$OUT/amx-bench.err" |
            sed -n 's/^backprop-B .*train_s=\([0-9.]*\).*/\1/p')
        echo "$way ${t:-nan}" >>"$OUT/amx-speed.txt"
    done
    r=$((r + 1))
done
f=$(awk '$1 == "fp32" { print $2 }' "$OUT/amx-speed.txt" | median)
b=$(awk '$1 == "bf16" { print $2 }' "$OUT/amx-speed.txt" | median)
a=$(awk '$1 == "amx" { print $2 }' "$OUT/amx-speed.txt" | median)
echo "workload B, $THREADS threads, 1 epoch, median of $ROUNDS interleaved rounds (s):"
echo "    fp32 $f   bf16 VDPBF16PS $b   bf16 AMX $a"
awk -v f="$f" -v b="$b" -v a="$a" 'BEGIN { if (b > 0 && a > 0) printf "    speed-up over fp32: VDPBF16PS %.2fx, AMX %.2fx\n", f / b, f / a }'
# The library says on stderr when BACKPROP_AMX=1 could not be honoured.
grep -m 1 'BACKPROP_AMX=1:' "$OUT/amx-bench.err" 2>/dev/null | sed 's/^/    NOTE: the AMX rows ran VDPBF16PS: /'
exit "$rc"
