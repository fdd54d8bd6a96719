#!/bin/sh
# bench/int8.sh BUILD — int8 vs float32 batched inference, one thread, µs per
# sample (bench/int8_bench.c against BUILD/libbackprop.a); prints a markdown
# section for bench/results.md.  Knobs: INT8_ROWS (4096), INT8_REPEATS (5).
# The int8 rows run the default path: the 512-bit VNNI GEMM (VPDPBUSD) where
# the CPU has AVX512-VNNI and the avx512 path runs, else the 256-bit AVX-VNNI
# one where it has AVX-VNNI, else the AVX2 one (sign-extended to int16,
# vpmaddwd).  Then, for comparison, where they differ from the default rows:
# BACKPROP_INT8=avxvnni (the 256-bit GEMM on a CPU that has both VNNIs),
# BACKPROP_ISA=avx2 (float32 on AVX2 against int8 on AVX-VNNI, on an AVX-512
# CPU that has AVX-VNNI) and BACKPROP_INT8=avx2 (the AVX2 GEMM, on any VNNI
# CPU), and where the CPU has AMX-INT8, BACKPROP_AMX=1 (the opt-in TDPBSSD
# GEMM, never run on AMX when written).  The issue's target is int8 >= 2.5x
# fp32 on VNNI.
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
avx512=no
grep -qw avx512bw /proc/cpuinfo 2>/dev/null && avx512=yes
avx512_vnni=no
grep -qw avx512_vnni /proc/cpuinfo 2>/dev/null && [ "$avx512" = yes ] && avx512_vnni=yes
avx_vnni=no
grep -qw avx_vnni /proc/cpuinfo 2>/dev/null && avx_vnni=yes
run() { "$BUILD/int8_bench" "${INT8_ROWS:-4096}" "${INT8_REPEATS:-5}"; }
cat <<EOF2

## int8 inference (bench/int8.sh: ${INT8_ROWS:-4096} rows, 1 thread, median of ${INT8_REPEATS:-5})

| net | fp32 path | fp32 µs/sample | int8 µs/sample | int8 speed-up |
|---|---|---|---|---|
EOF2
run || exit 1
if [ "$avx512_vnni" = yes ] && [ "$avx_vnni" = yes ]; then
    echo "| *int8 on AVX-VNNI, 256-bit (BACKPROP_INT8=avxvnni):* | | | | |"
    BACKPROP_INT8=avxvnni run || exit 1
fi
if [ "$avx512" = yes ] && [ "$avx_vnni" = yes ]; then
    echo "| *the avx2 path, int8 on AVX-VNNI (BACKPROP_ISA=avx2):* | | | | |"
    BACKPROP_ISA=avx2 run || exit 1
fi
if grep -qw amx_int8 /proc/cpuinfo 2>/dev/null; then
    echo "| *int8 on AMX-INT8 (BACKPROP_AMX=1, opt-in):* | | | | |"
    BACKPROP_AMX=1 run || exit 1
fi
if [ "$avx512_vnni" = yes ] || [ "$avx_vnni" = yes ]; then
    echo "| *int8 on AVX2 for comparison (BACKPROP_INT8=avx2):* | | | | |"
    BACKPROP_INT8=avx2 run || exit 1
    cat <<EOF2

CPU has AVX512-VNNI: $avx512_vnni; AVX-VNNI: $avx_vnni.  The first rows are the default int8
path (AVX512-VNNI where it runs, else AVX-VNNI), the issue's target (int8 >= 2.5x fp32).
EOF2
else
    cat <<EOF2

CPU has VNNI/AMX-INT8: $vnni; AVX512-VNNI: no; AVX-VNNI: no.  The int8 rows are the AVX2 path,
so the issue's target (int8 >= 2.5x fp32 on VNNI) is not measured here.
EOF2
fi
