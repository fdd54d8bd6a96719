#!/bin/sh
# The training issue's Fashion-MNIST acceptance runs, when Debian's
# dataset-fashion-mnist (or $BACKPROP_DATA) provides the files:
#   784-256-128-10 ReLU, softmax + cross-entropy, Adam, batch 128, 10 epochs: ≥ 88.0% test accuracy
#   784-128-10 sigmoid, MSE, plain SGD η 0.1, batch 1, 1 epoch: ≥ 80% test accuracy
TEST=cli_fashion; . "$(dirname "$0")/lib.sh"
if ! "$BP" info examples/article.net >/dev/null 2>&1; then
    echo "cli_fashion: backprop does not run"; exit 1
fi
if [ -z "${BACKPROP_DATA:-}" ] && [ ! -d /usr/share/datasets/fashion-mnist ]; then
    echo "cli_fashion: 0 passed, 0 failed, 2 skipped (no Fashion-MNIST: apt-get install dataset-fashion-mnist)"
    exit 0
fi
check_acc() { # what minimum
    acc=$(sed -n 's/^test: .*accuracy \([0-9.]*\).*/\1/p' "$T/out")
    if [ -n "$acc" ] && awk -v a="$acc" -v m="$2" 'BEGIN { exit !(a >= m) }'; then
        ok; echo "cli_fashion: $1: test accuracy $acc (>= $2)"
    else
        bad "$1: test accuracy '$acc' < $2"; cat "$T/out"
    fi
}
"$BP" train fashion-mnist --layers 784,256,128,10 --act relu --optimizer adam --lr 0.001 \
    --batch 128 --epochs 10 --schedule cosine --val 0 -q -o "$T/fm.bpm" >"$T/out" 2>&1
check_acc "784-256-128-10 adam, 10 epochs" 0.88
# int8: calibrated on the training split (not on the test rows eval measures);
# the int8 model's test accuracy within 0.5 points of float32's.
fp=$acc
if "$BP" quantize "$T/fm.bpm" -o "$T/fm.q" --calib fashion-mnist 2>"$T/err" &&
    grep -q "calibrated on 60000 rows of fashion-mnist (its training split)" "$T/err"; then ok
else bad "quantize --calib fashion-mnist did not calibrate on the 60000 training rows"; cat "$T/err"; fi
"$BP" eval "$T/fm.q" fashion-mnist >"$T/out" 2>&1
acc=$(sed -n 's/^eval: .*accuracy \([0-9.]*\).*/\1/p' "$T/out")
if [ -n "$acc" ] && awk -v a="$acc" -v f="$fp" 'BEGIN { exit !(a >= f - 0.005) }'; then
    ok; echo "cli_fashion: int8 test accuracy $acc (float32 $fp)"
else bad "int8 test accuracy '$acc' more than 0.5 points below float32's $fp"; cat "$T/out"; fi
"$BP" train fashion-mnist --layers 784,128,10 --act sigmoid --out-act sigmoid --loss mse \
    --init xavier --optimizer sgd --lr 0.1 --batch 1 --epochs 1 --val 0 -q -o "$T/seed.bpm" >"$T/out" 2>&1
check_acc "784-128-10 sigmoid/MSE/SGD batch 1, 1 epoch" 0.80
echo "cli_fashion: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
