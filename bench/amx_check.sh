#!/bin/sh
# bench/amx_check.sh BUILD — one short run on a CPU with AMX-BF16 (Intel
# Sapphire Rapids and later) to check the AMX kernel, which was written on
# a machine without AMX and has never run (docs/precision.md, "AMX-BF16"):
#   1. the CPU's flags (model, avx512_bf16, amx_*);
#   2. tests/test_bf16 with BACKPROP_AMX=1: the native AMX kernel against the
#      rounded operands' product, the order its hardware adds in (the probe)
#      and how many elements native and simulated AMX give bit for bit;
#   3. workload B (bench_backprop, 1 epoch) in fp32, bf16 on VDPBF16PS and
#      bf16 with BACKPROP_AMX=1, AMX_ROUNDS (3) interleaved rounds, medians.
# On a CPU without AMX it prints "skipped: no AMX" and exits 0
# (AMX_CHECK_FORCE=1 runs it anyway, to test this script: the native AMX
# test then skips and the "AMX" timings run VDPBF16PS).  About a
# minute on a Xeon; THREADS (all cores) for the timings.  Logs in bench/out/amx-*.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
OUT=bench/out
mkdir -p "$OUT"
ROUNDS=${AMX_ROUNDS:-3}
THREADS=${THREADS:-$(nproc)}

echo "## AMX-BF16 check (bench/amx_check.sh)"
echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "flags: $(grep -m 1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx512f|avx512_bf16|amx_[a-z0-9]+)$' | tr '\n' ' ')"
if [ "${AMX_CHECK_FORCE:-0}" != 1 ] && { ! grep -qw amx_bf16 /proc/cpuinfo || ! grep -qw amx_tile /proc/cpuinfo; }; then
    echo "amx_check: skipped: no AMX (amx_bf16 and amx_tile not both in /proc/cpuinfo)"
    exit 0
fi

# 2. The tests.  The native kernel is used only where the test's own
# BACKPROP_AMX=1 reaches it; exporting it here too covers the training tests.
if [ ! -x "$BUILD/tests/test_bf16" ]; then
    make -j"$(nproc)" "$BUILD/tests/test_bf16" "$BUILD/libbackprop.a" >"$OUT/amx-build.log" 2>&1 ||
        { echo "amx_check: build failed (see $OUT/amx-build.log)"; exit 1; }
fi
BACKPROP_AMX=1 "$BUILD/tests/test_bf16" >"$OUT/amx-test.log" 2>&1
rc=$?
echo "test_bf16 (BACKPROP_AMX=1): exit $rc, $(grep -c '\[       OK \]' "$OUT/amx-test.log") passed, $(grep -c '\[  FAILED  \] test' "$OUT/amx-test.log") failed"
grep -E 'AMX order|native vs simulated AMX|SKIP|ERROR|FAILED|backprop:' "$OUT/amx-test.log" | sed 's/^/    /'

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
