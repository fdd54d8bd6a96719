#!/bin/sh
# The benchmark's own tools, quickly (make bench itself is long and not part of make check):
# bench/peak.c builds warning-free and prints a sane fp32 FMA peak line, rejects a bad thread
# count; bench/fmnist.py synth writes a Fashion-MNIST-shaped set the library and the CLI load
# and learn from; bench/torch_modern.py's sweep mode (TORCH_STEPS) reports a scaled epoch time
# with the setting's label (skipped without torch); bench/run.sh parses; bench/torch_settings.sh
# makes the sweep's settings and picks its winners.
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

# The sweep's bookkeeping (bench/torch_settings.sh), on made-up libraries and logs.
settings() { # NCPU → the settings made with one extra, non-OpenBLAS libblas.so.3 in $T/fakeblas
    (OUT=$T NCPU=$1 BENCH_BLAS_DIRS="$T/fakeblas" BLAS_NOTES=""
        . bench/torch_settings.sh && make_settings && echo "notes:$BLAS_NOTES")
}
mkdir -p "$T/fakeblas" && echo "not a library" >"$T/fakeblas/libblas.so.3"
settings 1 >"$T/s1"
contains "$T/s1" "fakeblas:t1 $T/fakeblas fakeblas 1 - -" "a BLAS that is not OpenBLAS: torch threads only"
contains "$T/s1" "not OpenBLAS; only torch's threads vary" "the report names what was found"
if grep -q ':t2\|:b2' "$T/s1"; then bad "1 core: no 2-thread settings"; cat "$T/s1"; else ok; fi
settings 4 >"$T/s4"
contains "$T/s4" "fakeblas:t4 $T/fakeblas fakeblas 4 - -" "4 cores: torch threads 1 and 4"
cat >"$T/sweep.log" <<'LOG'
torch-B setting=a:t1 threads=1 blas_threads=1 run=1 epoch=1 steps=50 train_s=3.0 test_acc=nan
torch-B setting=a:t1 threads=1 blas_threads=1 run=1 epoch=2 steps=50 train_s=1.0 test_acc=nan
torch-B setting=b:t2 threads=2 blas_threads=2 run=1 epoch=1 steps=50 train_s=2.5 test_acc=nan
torch-B setting=b:t2 threads=2 blas_threads=2 run=1 epoch=2 steps=50 train_s=1.9 test_acc=nan
torch-C setting=a:t1 threads=1 blas_threads=1 run=1 infer_us_per_sample batch1=300 batch128=9 batch10000=8 test_acc=nan
torch-C setting=b:t2 threads=2 blas_threads=2 run=1 infer_us_per_sample batch1=200 batch128=12 batch10000=7 test_acc=nan
LOG
printf '%s\n' "a:t1 /x/a a 1 - auto" "b:t2 /x/a a 2 2 Haswell" "c:t1 /x/a a 1 1 Haswell" >"$T/settings.txt"
(OUT=$T; . bench/torch_settings.sh
    echo "B $(fastest torch-B train_s "$T/sweep.log") $(medians torch-B train_s "$T/sweep.log" | tr '\n' ' ')"
    echo "C1 $(fastest torch-C batch1 "$T/sweep.log") C128 $(fastest torch-C batch128 "$T/sweep.log")"
    echo "A $(one_thread_of b:t2) cores $(setting_cores b:t2) $(setting_cores a:t1)"
    run() { shift; echo "ran: $*"; }
    torch_at x b:t2 script.py 3 1
    torch_at x a:t1 script.py 0 2) >"$T/out" 2>&1
contains "$T/out" "B a:t1 a:t1 2 b:t2 2.2 " "medians (even counts: the mean of the middle two), fastest first"
contains "$T/out" "C1 b:t2 C128 a:t1" "the fastest setting per inference column"
contains "$T/out" "A c:t1 cores 2 1" "batch-1 training on 1 thread with the winner's BLAS and core"
contains "$T/out" "ran: env OPENBLAS_CORETYPE=Haswell LD_LIBRARY_PATH=/x/a" "torch_at sets the core type and the library"
contains "$T/out" "BENCH_SETTING=b:t2 BLAS_THREADS=2 /usr/bin/python3 script.py 2 3 1" "torch_at passes threads first"
contains "$T/out" "ran: env -u OPENBLAS_CORETYPE LD_LIBRARY_PATH=/x/a" "auto: OpenBLAS detects the core itself"

echo "cli_bench: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
