#!/bin/sh
# bench/run.sh BUILD — the performance benchmarks behind `make bench`.
#
# Builds bench/bench_backprop.c against BUILD/libbackprop.a, the FANN peer
# (bench/fann_seed.c, needs libfann-dev) and bench/sgemm_bench.c (needs
# libopenblas-dev) when present; runs workloads A, B and C on Fashion-MNIST for
# backprop and its peers, interleaved round by round so machine noise hits all
# alike; writes bench/results.md (medians, min–max, ratios against the targets)
# and keeps the raw logs in bench/out/.  Peers that are not installed are
# skipped and the report says so.  Not part of `make check`.
#
# Knobs (environment):
#   BENCH_RUNS=3        rounds (≥ 3 for a median with min–max)
#   BENCH_EPOCHS=3      epochs per run of workload B (each epoch timed)
#   BENCH_THREADS=2     threads for workloads B and C
#   TORCH_SEED_N=10000  training rows for PyTorch's batch-1 run (scaled to 60000)
#   BENCH_ABLATION=1    also run BACKPROP_ISA=portable and 1-thread variants (0: skip)
#   BENCH_WAIT=120      before each round wait up to this many seconds for the 1-minute
#                       load average to fall below BENCH_QUIET (default: cores − 0.5)
#   PYTHON=/usr/bin/python3
#
# Needs: apt-get install dataset-fashion-mnist python3-torch python3-numpy libfann-dev libopenblas-dev
set -u

BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
cd "$ROOT" || exit 1
OUT=bench/out
RES=bench/results.md
RUNS=${BENCH_RUNS:-3}
EPOCHS=${BENCH_EPOCHS:-3}
THREADS=${BENCH_THREADS:-2}
TORCH_N=${TORCH_SEED_N:-10000}
ABLATION=${BENCH_ABLATION:-1}
WAIT=${BENCH_WAIT:-120}
NCPU=$(nproc 2>/dev/null || echo 1)
QUIET=${BENCH_QUIET:-$(awk -v n="$NCPU" 'BEGIN { print n - 0.5 }')}
PY=${PYTHON:-/usr/bin/python3}
CC=${CC:-cc}
CFLAGS_BENCH="-O2 -std=c11 -Wall -Wextra -Wpedantic -D_POSIX_C_SOURCE=200809L"

mkdir -p "$OUT"
rm -f "$OUT"/*.log
say() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------- build
if [ ! -f "$BUILD/libbackprop.a" ]; then
    say "bench: $BUILD/libbackprop.a missing (run make first)"
    exit 1
fi
$CC $CFLAGS_BENCH -Iinclude bench/bench_backprop.c "$BUILD/libbackprop.a" -lz -lm -lpthread \
    -o "$BUILD/bench_backprop" || exit 1
BP="$BUILD/bench_backprop"

# A peer that cannot be built or run is skipped, with the reason kept for the report.
SKIPPED=""
skip() { SKIPPED="$SKIPPED
- $1"; say "bench: skipping $1"; }

HAVE_FANN=0
if $CC $CFLAGS_BENCH bench/fann_seed.c -lfloatfann -lz -lm -o "$BUILD/fann_seed" 2>"$OUT/fann_build.log"; then
    HAVE_FANN=1
else
    skip "FANN (bench/fann_seed.c did not build: apt-get install libfann-dev; see bench/out/fann_build.log)"
fi

HAVE_TORCH=0
if [ -x "$PY" ] && "$PY" -c 'import torch, numpy' 2>"$OUT/torch_import.log"; then
    HAVE_TORCH=1
else
    skip "PyTorch ($PY cannot import torch and numpy: apt-get install python3-torch python3-numpy)"
fi

HAVE_SGEMM=0
if [ -f bench/sgemm_bench.c ]; then
    if $CC -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc \
        -I/usr/include/x86_64-linux-gnu/openblas-pthread bench/sgemm_bench.c \
        "$BUILD/libbackprop.a" -lopenblas -lz -lm -lpthread -o "$BUILD/sgemm_bench" 2>"$OUT/sgemm_build.log"; then
        HAVE_SGEMM=1
    else
        skip "sgemm vs OpenBLAS (bench/sgemm_bench.c did not build: apt-get install libopenblas-dev; see bench/out/sgemm_build.log)"
    fi
else
    skip "sgemm vs OpenBLAS (bench/sgemm_bench.c not present)"
fi

# The data set must be there before anything is timed.
if ! "$BP" L >/dev/null 2>"$OUT/probe.log"; then
    cat "$OUT/probe.log" >&2
    say "bench: Fashion-MNIST not found (apt-get install dataset-fashion-mnist)"
    exit 1
fi

# ---------------------------------------------------------------- run
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)
# run LOG CMD...: append CMD's stdout to bench/out/LOG.log, stderr to LOG.err
run() {
    log=$1; shift
    say "bench: $*"
    "$@" >>"$OUT/$log.log" 2>>"$OUT/$log.err" || say "bench: FAILED: $* (see $OUT/$log.err)"
}
# quiet: wait (at most $WAIT s) for the 1-minute load average to drop below $QUIET
quiet() {
    waited=0
    while [ "$waited" -lt "$WAIT" ] &&
        awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v q="$QUIET" 'BEGIN { exit !(l + 0 > q + 0) }'; do
        [ "$waited" = 0 ] && say "bench: load $(cut -d' ' -f1 /proc/loadavg) > $QUIET, waiting up to $WAIT s"
        sleep 10
        waited=$((waited + 10))
    done
}
ROUND_LOADS=""
r=1
while [ "$r" -le "$RUNS" ]; do
    quiet
    l=$(cut -d' ' -f1 /proc/loadavg)
    ROUND_LOADS="$ROUND_LOADS${ROUND_LOADS:+, }$l"
    say "bench: ---- round $r of $RUNS (load $l)"
    run bpA "$BP" A 1
    [ $HAVE_FANN = 1 ] && run fannA "$BUILD/fann_seed" 1
    [ $HAVE_TORCH = 1 ] && run torchA "$PY" bench/torch_seed.py 1 "$TORCH_N" "$r"
    run bpB "$BP" B "$THREADS" "$EPOCHS" 1
    [ $HAVE_TORCH = 1 ] && run torchB env BLAS_THREADS="$THREADS" "$PY" bench/torch_modern.py 1 "$EPOCHS" "$r"
    run bpC "$BP" C "$THREADS"
    if [ "$ABLATION" = 1 ]; then
        run bpB1 "$BP" B 1 1 1
        run bpC1 "$BP" C 1
    fi
    r=$((r + 1))
done
if [ "$ABLATION" = 1 ]; then
    say "bench: ---- ablation: portable C kernels"
    run bpA_portable env BACKPROP_ISA=portable "$BP" A 1
    run bpB_portable env BACKPROP_ISA=portable "$BP" B "$THREADS" 1 1
fi
[ $HAVE_SGEMM = 1 ] && run sgemm env OPENBLAS_NUM_THREADS="$THREADS" "$BUILD/sgemm_bench"
[ "$ABLATION" = 1 ] && run busycore sh bench/busy_core.sh "$BUILD" # one core busy: 1 vs default threads (bench/out/busycore.log)
T1=$(date +%s)
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- statistics
# stats LOG TAG FIELD [FILTER]: "median min max n" of FIELD=… on lines "TAG …" (matching FILTER)
stats() {
    f="$OUT/$1.log"
    [ -f "$f" ] || { echo "- - - 0"; return; }
    grep "^$2 " "$f" | grep -e "${4:-.}" | sed -n "s/.* $3=\([^ ]*\).*/\1/p" | sort -g |
        awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "- - - 0"; exit }
            m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            print m, v[1], v[NR], NR }'
}
med() { echo "$1" | cut -d' ' -f1; }
# fmt "median min max n" DIGITS → "1.23 (1.20–1.30)"
fmt() {
    echo "$1" | awk -v d="$2" '{ if ($4 == 0) print "n/a"; else if ($4 == 1) printf "%.*f (1 run)\n", d, $1;
        else printf "%.*f (%.*f–%.*f)\n", d, $1, d, $2, d, $3 }'
}
# ratio A B → A/B with 2 decimals, "n/a" if either is missing
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "n/a"; else printf "%.2f×\n", a / b }'; }
# le VALUE LIMIT → "met" / "not met"
le() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-") print "n/a"; else if (a + 0 <= b + 0) print "**met**"; else print "not met" }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || a == "-") print "n/a"; else if (a + 0 >= b + 0) print "**met**"; else print "not met" }'; }

bpA_t=$(stats bpA backprop-A train_s);          bpA_acc=$(stats bpA backprop-A test_acc)
fannA_t=$(stats fannA fann-A train_s);          fannA_acc=$(stats fannA fann-A test_acc)
torchA_t=$(stats torchA torch-A epoch_s);       torchA_acc=$(stats torchA torch-A test_acc)
bpB_t=$(stats bpB backprop-B train_s);          bpB_acc=$(stats bpB backprop-B test_acc "epoch=$EPOCHS ")
torchB_t=$(stats torchB torch-B train_s);       torchB_acc=$(stats torchB torch-B test_acc "epoch=$EPOCHS ")
bpB1_t=$(stats bpB1 backprop-B train_s)
bpC1=$(stats bpC backprop-C batch1);            bpC128=$(stats bpC backprop-C batch128)
bpCall=$(stats bpC backprop-C batch10000)
bpC1t1=$(stats bpC1 backprop-C batch1); bpC1t128=$(stats bpC1 backprop-C batch128);     bpC1tall=$(stats bpC1 backprop-C batch10000)
torchC1=$(stats torchB torch-C batch1);         torchC128=$(stats torchB torch-C batch128)
torchCall=$(stats torchB torch-C batch10000)
rssA=$(stats bpA backprop-rss peak_rss_mb);     rssA_min=$(stats bpA backprop-rss min_mb)
rssB=$(stats bpB backprop-rss peak_rss_mb);     rssB_min=$(stats bpB backprop-rss min_mb)
rssA_r=$(stats bpA backprop-rss ratio);         rssB_r=$(stats bpB backprop-rss ratio)
pA_t=$(stats bpA_portable backprop-A train_s);  pB_t=$(stats bpB_portable backprop-B train_s)

rA_fann=$(ratio "$(med "$fannA_t")" "$(med "$bpA_t")")
rA_torch=$(ratio "$(med "$torchA_t")" "$(med "$bpA_t")")
rB_torch=$(ratio "$(med "$torchB_t")" "$(med "$bpB_t")")
rC1_torch=$(ratio "$(med "$torchC1")" "$(med "$bpC1")")
rC_torch=$(ratio "$(med "$torchCall")" "$(med "$bpCall")")

# ---------------------------------------------------------------- machine
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
fam=$(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mod=$(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
isa=$(grep -o -w 'avx512f\|avx2\|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')
case "$isa" in *avx512f*) path=avx512 ;; *avx2*) path=avx2 ;; *) path=portable ;; esac
[ -n "${BACKPROP_ISA:-}" ] && path="$path (forced BACKPROP_ISA=$BACKPROP_ISA)"
kpath=$(sed -n 's/^backprop kernels: \(.*\) path$/\1/p' "$OUT/sgemm.log" 2>/dev/null | head -n 1)
[ -n "$kpath" ] && path="$kpath (reported by the kernels)"
ccv=$($CC --version 2>/dev/null | head -n 1)
pkgv() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "not installed"; }

# ---------------------------------------------------------------- report
{
cat <<EOF
# Benchmark results

Written by \`make bench\` (bench/run.sh) — do not edit by hand; raw logs are in bench/out/.

- **Machine**: $cpu (family $fam model $mod), $NCPU cores, CPU flags: $isa; kernel path in use: $path
- **Date**: $(date -u '+%Y-%m-%d %H:%M UTC'); **compiler**: $ccv; library built with the Makefile's flags (${OPT:--O2})
- **Peers**: PyTorch $(pkgv python3-torch) (Debian, OpenBLAS $(pkgv libopenblas0-pthread)), FANN $(pkgv libfann2)
- **Load average** before: $LOAD0, after: $LOAD1, at the start of each round: $ROUND_LOADS
  (other jobs share this machine; $NCPU cores); wall time $((T1 - T0)) s for $RUNS interleaved rounds
- Timings are training time only (data already in memory), median of $RUNS runs with (min–max).
EOF
if [ -n "$SKIPPED" ]; then
    printf '%s\n' "- **Skipped**:$SKIPPED"
fi
cat <<EOF

## A. 784-128-10 sigmoid/sigmoid, MSE (½Σ), SGD η 0.1, batch 1, 1 epoch in file order

| tool | epoch s | peer / backprop | target | test acc |
|---|---|---|---|---|
| backprop (1 thread, batch-1 path bp_train_sample) | $(fmt "$bpA_t" 3) | — | ≤ 0.40 s: $(le "$(med "$bpA_t")" 0.40) | $(fmt "$bpA_acc" 4) |
| FANN incremental (float) | $(fmt "$fannA_t" 3) | $rA_fann | ≥ 10×: $(ge "$rA_fann" 10) | $(fmt "$fannA_acc" 4) |
| PyTorch, 1 thread | $(fmt "$torchA_t" 2) | $rA_torch | ≥ 25×: $(ge "$rA_torch" 25) | $(fmt "$torchA_acc" 4) |

PyTorch's batch-1 loop trains on the first $TORCH_N rows only (it is slow) and its time is scaled
to 60000 rows; its test accuracy is therefore that of a net trained on $TORCH_N rows.

## B. 784-512-256-10 ReLU, softmax + cross-entropy, Adam 1e-3, batch 128

Per-epoch time over $EPOCHS epochs × $RUNS runs (median of all epochs); accuracy after epoch $EPOCHS.

| tool | s / epoch | peer / backprop | target | test acc |
|---|---|---|---|---|
| backprop, $THREADS threads | $(fmt "$bpB_t" 3) | — | ≤ 0.75 s: $(le "$(med "$bpB_t")" 0.75) | $(fmt "$bpB_acc" 4) |
| PyTorch, 1 thread + OpenBLAS $THREADS | $(fmt "$torchB_t" 3) | $rB_torch | ≥ 2.3×: $(ge "$rB_torch" 2.3) | $(fmt "$torchB_acc" 4) |
EOF
if [ "$ABLATION" = 1 ]; then
cat <<EOF
| backprop, 1 thread (1 epoch per run) | $(fmt "$bpB1_t" 3) | | $THREADS threads speed-up: $(ratio "$(med "$bpB1_t")" "$(med "$bpB_t")") | |
EOF
fi
cat <<EOF

## C. Inference, modern net (after 1 epoch), µs per sample

| tool | batch 1 | batches of 128 | whole test set (10000) | targets |
|---|---|---|---|---|
| backprop, $THREADS threads (batch 1: a 1-row workspace, the GEMVs split over the threads) | $(fmt "$bpC1" 2) | $(fmt "$bpC128" 3) | $(fmt "$bpCall" 3) | batch 1 ≤ 15: $(le "$(med "$bpC1")" 15); batched ≤ 3: $(le "$(med "$bpCall")" 3) |
EOF
if [ "$ABLATION" = 1 ]; then
cat <<EOF
| backprop, 1 thread | $(fmt "$bpC1t1" 2) | $(fmt "$bpC1t128" 3) | $(fmt "$bpC1tall" 3) | |
EOF
fi
cat <<EOF
| PyTorch, 1 thread + OpenBLAS $THREADS | $(fmt "$torchC1" 2) | $(fmt "$torchC128" 3) | $(fmt "$torchCall" 3) | |
| PyTorch / backprop | $rC1_torch | $(ratio "$(med "$torchC128")" "$(med "$bpC128")") | $rC_torch | |

Each figure is the best of 3 passes over the 10000 test images within a run (PyTorch batch 1: one pass);
the table gives the median over runs.

## Memory: peak RSS of a Fashion-MNIST run vs the minimum

Minimum = float32 inputs and one-hot targets (+ int32 labels) of the 60000 training and 10000 test
rows, the parameters, and the optimizer state (Adam: 2 floats per parameter; SGD: none).
Peak RSS is getrusage(RUSAGE_SELF).ru_maxrss of the whole bench_backprop process (loading included).

| run | peak RSS MB | minimum MB | ratio | target |
|---|---|---|---|---|
| A (SGD, 784-128-10) | $(fmt "$rssA" 1) | $(med "$rssA_min") | $(fmt "$rssA_r" 3) | ≤ 1.3: $(le "$(med "$rssA_r")" 1.3) |
| B (Adam, 784-512-256-10, $THREADS threads) | $(fmt "$rssB" 1) | $(med "$rssB_min") | $(fmt "$rssB_r" 3) | ≤ 1.3: $(le "$(med "$rssB_r")" 1.3) |
EOF
if [ "$ABLATION" = 1 ]; then
cat <<EOF

## Ablation: what the SIMD kernels buy (1 run each)

| run | default path | BACKPROP_ISA=portable | speed-up |
|---|---|---|---|
| A epoch s | $(med "$bpA_t") | $(med "$pA_t") | $(ratio "$(med "$pA_t")" "$(med "$bpA_t")") |
| B s / epoch, $THREADS threads | $(med "$bpB_t") | $(med "$pB_t") | $(ratio "$(med "$pB_t")" "$(med "$bpB_t")") |
EOF
fi
if [ $HAVE_SGEMM = 1 ]; then
cat <<EOF

## sgemm: our kernels vs OpenBLAS (bench/sgemm_bench.c, OPENBLAS_NUM_THREADS=$THREADS)

\`\`\`
$(cat "$OUT/sgemm.log")
\`\`\`
EOF
fi
cat <<EOF

## Notes

- The reference figures of the issue (FANN 5.84 s, PyTorch 13.3 s for A; PyTorch 1.75 s/epoch for B)
  were measured on a 2-core AMD EPYC Zen 4 **with AVX-512**.  This report comes from the machine above;
  compare ratios measured in the same run, not absolute times across machines.
- Analysis of where the time goes and of the gaps to the targets: docs/performance.md.
EOF
} >"$RES"
say "bench: wrote $RES"
cat "$RES"
