#!/bin/sh
# The benchmark's own tools, quickly (make bench itself is long and not part of make check):
# bench/peak.c builds warning-free and prints a sane fp32 FMA peak line, rejects a bad thread
# count; bench/fmnist.py synth writes a Fashion-MNIST-shaped set the library and the CLI load
# and learn from; bench/torch_modern.py's sweep mode (TORCH_STEPS) reports a scaled epoch time
# with the setting's label (skipped without torch); bench/run.sh parses.
TEST=cli_bench; . "$(dirname "$0")/lib.sh"
CC=${CC:-cc}
skipped=0

if $CC -O2 -std=c11 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L bench/peak.c \
    -lpthread -o "$T/peak" 2>"$T/err"; then ok; else bad "bench/peak.c does not build cleanly"; cat "$T/err"; fi
PEAK_RUNS=1 "$T/peak" 1 >"$T/out" 2>"$T/err"
if grep -Eq '^peak isa=none ' "$T/out" ||
    awk '/^peak isa=(avx2|avx512) width=(8|16) threads=1 gflops=[0-9.]+ min=[0-9.]+ max=[0-9.]+ runs=1 per_core=/ {
        split($5, g, "="); if (g[2] + 0 > 0.5) found = 1 } END { exit !found }' "$T/out"; then
    ok
else
    bad "peak's line: $(cat "$T/out" "$T/err")"
fi
expect_rc 2 "peak with 0 threads" "$T/peak" 0
contains "$T/err" "thread count '0' out of range" "peak names the bad thread count"

if "$PY" bench/fmnist.py synth "$T/syn" 300 50 2>"$T/err"; then ok; else bad "fmnist.py synth"; cat "$T/err"; fi
expect_rc 0 "training on the synthetic set" env BACKPROP_DATA="$T/syn" "$BP" train fashion-mnist \
    --layers 784,16,10 --act relu --optimizer adam --lr 0.01 --batch 32 --epochs 5 --val 0 -q -o "$T/syn.bpm"
acc=$(sed -n 's/^test: .*accuracy \([0-9.]*\).*/\1/p' "$T/out" "$T/err" | head -n 1)
if awk -v a="${acc:-0}" 'BEGIN { exit !(a >= 0.5) }'; then ok; else bad "synthetic set not learnable: accuracy '$acc'"; cat "$T/out"; fi
expect_rc 2 "fmnist.py with a bad row count" "$PY" bench/fmnist.py synth "$T/syn2" 0 5
expect_rc 2 "fmnist.py without arguments" "$PY" bench/fmnist.py

if "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
    expect_rc 0 "torch_modern.py sweep mode" env BACKPROP_DATA="$T/syn" TORCH_STEPS=2 TORCH_B1_ROWS=5 \
        BENCH_SETTING=lib:t1:b1:auto BLAS_THREADS=1 "$PY" bench/torch_modern.py 1 2 7
    contains "$T/out" "torch-env setting=lib:t1:b1:auto " "torch_modern.py names its BLAS"
    contains "$T/out" "torch-B setting=lib:t1:b1:auto threads=1 blas_threads=1 run=7 epoch=2 steps=2 train_s=" \
        "torch_modern.py times a sweep chunk"
    contains "$T/out" "torch-C setting=lib:t1:b1:auto " "torch_modern.py times inference"
else
    skipped=$((skipped + 1))
    echo "cli_bench: torch_modern.py not run (no torch: apt-get install python3-torch python3-numpy)"
fi

expect_rc 0 "bench/run.sh parses" sh -n bench/run.sh

echo "cli_bench: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
