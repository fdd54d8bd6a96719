#!/bin/sh
# Same bits: the model files of a fixed set of runs, on the portable kernels
# (BACKPROP_ISA=portable gives the same bits on every x86-64 machine with the
# same libm), hash to the values recorded in tests/same_bits.sha256.  A
# refactoring of the maths (kernels, nn/) must leave every hash unchanged; a
# change that means to alter results updates the file and says why.
#   BUILD=build sh tests/cli_same_bits.sh            check
#   BUILD=build sh tests/cli_same_bits.sh --record   rewrite tests/same_bits.sha256
B=${BUILD:-build}
BP="$B/backprop"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export BACKPROP_ISA=portable
cd "$(dirname "$0")/.." || exit 1
if ! command -v sha256sum >/dev/null 2>&1; then
    echo "cli_same_bits: 0 passed, 0 failed, 1 skipped (no sha256sum)"; exit 0
fi
q() { "$BP" "$@" -q >/dev/null 2>"$T/err" || { echo "cli_same_bits: run failed: $*"; cat "$T/err"; }; }

# The article's kind of network at scale: sigmoid, MSE, online SGD, 1 epoch.
q train data/digits.csv --layers 64,128,10 --act sigmoid --out-act sigmoid --loss mse \
    --optimizer sgd --lr 0.1 --batch 1 --epochs 1 --val 0 --threads 2 -o "$T/article.bpm"
# A wide net, Adam, minibatches (GEMM path), 1 epoch.
q train data/digits.csv --layers 64,512,256,10 --act relu --optimizer adam --lr 0.001 \
    --batch 128 --epochs 1 --val 0.2 --threads 2 -o "$T/adam.bpm"
# Momentum, dropout and clipping.
q train data/iris.csv --hidden 16 --optimizer momentum --lr 0.05 --dropout 0.2 --clip 1 \
    --epochs 20 --batch 8 --threads 1 -o "$T/momentum.bpm"
# iRPROP− (full batch).
q train data/digits.csv --hidden 32 --optimizer rprop --epochs 5 --val 0 -o "$T/rprop.bpm"
# A checkpoint, then a resumed run.
q train data/iris.csv --hidden 8 --optimizer adamw --epochs 3 --checkpoint "$T/ck.bpc" \
    -o "$T/first.bpm"
q train data/iris.csv --resume "$T/ck.bpc" --epochs 6 -o "$T/resumed.bpm"
# One step of the article's network, saved as text.
"$BP" step examples/article.net --out "$T/article-step.net" >/dev/null 2>&1

(cd "$T" && sha256sum article.bpm adam.bpm momentum.bpm rprop.bpm first.bpm resumed.bpm \
    article-step.net) >"$T/got"
if [ "${1:-}" = --record ]; then
    cp "$T/got" tests/same_bits.sha256
    echo "cli_same_bits: recorded tests/same_bits.sha256"
    exit 0
fi
pass=0
fail=0
while read -r sum name; do
    want=$(sed -n "s/^\([0-9a-f]*\)  $name\$/\1/p" tests/same_bits.sha256)
    if [ "$sum" = "$want" ]; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "cli_same_bits: FAIL: $name: sha256 $sum, recorded $want"; fi
done <"$T/got"
echo "cli_same_bits: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
