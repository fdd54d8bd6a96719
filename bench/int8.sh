#!/bin/sh
# bench/int8.sh BUILD — int8 vs float32 batched inference, one thread, µs per
# sample (bench/int8_bench.c against BUILD/libbackprop.a); prints a markdown
# section for bench/results.md.  Knobs: INT8_ROWS (4096), INT8_REPEATS (5).
# The int8 path here is AVX2 (sign-extended to int16, vpmaddwd): no VNNI /
# AMX-INT8 path exists yet, and the target of the issue (>= 2.5x fp32 on
# VNNI) cannot be measured on a CPU without VNNI.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
CC=${CC:-cc}
if [ ! -f "$BUILD/libbackprop.a" ]; then
    echo "int8.sh: $BUILD/libbackprop.a missing (run make first)" >&2
    exit 1
fi
$CC -O2 -std=c11 -Wall -Wextra -Wpedantic -D_POSIX_C_SOURCE=200809L -Iinclude \
    bench/int8_bench.c "$BUILD/libbackprop.a" -lz -lm -lpthread -o "$BUILD/int8_bench" || exit 1
vnni=no
grep -qwE 'avx512_vnni|avx_vnni|amx_int8' /proc/cpuinfo 2>/dev/null && vnni=yes
cat <<EOF2

## int8 inference (bench/int8.sh: ${INT8_ROWS:-4096} rows, 1 thread, median of ${INT8_REPEATS:-5})

| net | fp32 path | fp32 µs/sample | int8 µs/sample | int8 speed-up |
|---|---|---|---|---|
EOF2
"$BUILD/int8_bench" "${INT8_ROWS:-4096}" "${INT8_REPEATS:-5}" || exit 1
cat <<EOF2

CPU has VNNI/AMX-INT8: $vnni.  The int8 kernels are portable C and AVX2 only (no VNNI path yet),
so the issue's target (int8 >= 2.5x fp32 on VNNI) is not measured here.
EOF2
