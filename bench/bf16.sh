#!/bin/sh
# bench/bf16.sh BUILD — mixed precision (train --precision bf16) against fp32
# on the modern net (Fashion-MNIST 784-512-256-10 ReLU, softmax, Adam η 0.001,
# batch 128); prints a markdown section for bench/results.md.
#   accuracy: 10 epochs per run, seeds 1..BF16_SEEDS (3), test accuracy of each
#             (the issue's target: bf16 within 0.3 points of fp32);
#   speed:    where the CPU has AVX512-BF16, workload B (bench_backprop) in fp32
#             and bf16, BF16_ROUNDS (5) interleaved rounds, medians (target:
#             bf16 >= 1.5x fp32 on AVX512-BF16 without AMX).
# Without AVX512-BF16 the accuracy runs are emulated (BACKPROP_BF16=emulate:
# the same arithmetic on float32 kernels, docs/precision.md) and there is no
# speed to measure.  Knobs: BF16_SEEDS, BF16_EPOCHS (10), BF16_ROUNDS,
# THREADS (all cores).  Logs in bench/out/bf16-*.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
BP=$BUILD/backprop
OUT=bench/out
mkdir -p "$OUT"
SEEDS=${BF16_SEEDS:-3}
EPOCHS=${BF16_EPOCHS:-10}
ROUNDS=${BF16_ROUNDS:-5}
THREADS=${THREADS:-$(nproc)}
if [ -z "${BACKPROP_DATA:-}" ] && [ ! -d /usr/share/datasets/fashion-mnist ]; then
    echo; echo "## bf16 mixed precision (bench/bf16.sh)"; echo
    echo "Skipped: no Fashion-MNIST (apt-get install dataset-fashion-mnist)."
    exit 0
fi
native=no
grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null && grep -qw avx512bw /proc/cpuinfo && native=yes
amx=no
grep -qw amx_bf16 /proc/cpuinfo 2>/dev/null && amx=yes
mode="AVX512-BF16 (VDPBF16PS)"
[ "$native" = yes ] || { export BACKPROP_BF16=emulate; mode="emulated (BACKPROP_BF16=emulate: no AVX512-BF16 on this CPU)"; }

acc_of() { sed -n 's/^test: .*accuracy \([0-9.]*\).*/\1/p' "$1" | tail -n 1; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

: >"$OUT/bf16-acc.txt"
s=1
while [ "$s" -le "$SEEDS" ]; do
    for p in fp32 bf16; do
        log=$OUT/bf16-$p-$s.log
        "$BP" train fashion-mnist --layers 784,512,256,10 --act relu --optimizer adam --lr 0.001 \
            --batch 128 --epochs "$EPOCHS" --val 0 --seed "$s" --threads "$THREADS" \
            --precision "$p" -q -o "$OUT/bf16-$p.bpm" >"$log" 2>&1 || { echo "bf16.sh: $p seed $s failed:" >&2; cat "$log" >&2; exit 1; }
        echo "$p $s $(acc_of "$log")" >>"$OUT/bf16-acc.txt"
    done
    s=$((s + 1))
done

cat <<EOF2

## bf16 mixed precision (bench/bf16.sh)

Arithmetic: $mode.  AMX-BF16 on this CPU: $amx (the AMX path is opt-in, BACKPROP_AMX=1, and has not run on AMX hardware: bench/amx_check.sh checks it there).

Test accuracy after $EPOCHS epochs, 784-512-256-10 ReLU, Adam, batch 128, $THREADS threads:

| seed | fp32 | bf16 | bf16 − fp32 (points) |
|---|---|---|---|
EOF2
awk '{ a[$2, $1] = $3; if ($2 > n) n = $2 }
     END { for (s = 1; s <= n; s++) { d = 100 * (a[s, "bf16"] - a[s, "fp32"]); sum += d
             printf "| %d | %.4f | %.4f | %+.2f |\n", s, a[s, "fp32"], a[s, "bf16"], d }
           printf "| mean | | | %+.2f |\n", sum / n }' "$OUT/bf16-acc.txt"

if [ "$native" = yes ]; then
    CC=${CC:-cc}
    $CC -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude bench/bench_backprop.c \
        "$BUILD/libbackprop.a" -lz -lm -lpthread -ldl -o "$BUILD/bench_backprop" || exit 1
    : >"$OUT/bf16-speed.txt"
    r=1
    while [ "$r" -le "$ROUNDS" ]; do
        for p in fp32 bf16; do
            t=$(BENCH_PRECISION=$p "$BUILD/bench_backprop" B "$THREADS" 1 1 2>/dev/null |
                sed -n 's/^backprop-B .*train_s=\([0-9.]*\).*/\1/p')
            echo "$p $t" >>"$OUT/bf16-speed.txt"
        done
        r=$((r + 1))
    done
    f=$(awk '$1 == "fp32" { print $2 }' "$OUT/bf16-speed.txt" | median)
    b=$(awk '$1 == "bf16" { print $2 }' "$OUT/bf16-speed.txt" | median)
    echo
    echo "Workload B, $THREADS threads, median of $ROUNDS interleaved rounds: fp32 $f s/epoch, bf16 $b s/epoch, speed-up $(awk -v f="$f" -v b="$b" 'BEGIN { printf "%.2f", f / b }')x."
else
    echo
    echo "Speed: not measured (emulated bf16 runs float32 kernels; the target needs AVX512-BF16)."
fi
