#!/bin/sh
# make check-gpu (docs/gpu.md): for a machine with an NVIDIA GPU.
#   1. every op of the CUDA backend against the CPU backend, twice in one
#      process and once more in another: the same GPU bits each time;
#   2. once the CLI has `--device cuda`: gradcheck on the GPU, two training
#      runs giving identical model files, a GPU-trained model evaluated on the
#      CPU at the same accuracy (±0.1 point), and the Fashion-MNIST
#      784-256-128-10 Adam 10-epoch run (≥ 88%; synthetic data when the data
#      set is absent, said so).
# Prints what it ran and what it could not; exits 1 on any failure.
B=${1:-build}
BP="$B/backprop"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "check-gpu: FAIL: $*"; fail=1; }

echo "check-gpu: ops against the CPU backend"
"$B/tests/gpu/test_cuda_ops" --require >"$T/ops1" 2>&1 || bad "test_cuda_ops"
cat "$T/ops1"
"$B/tests/gpu/test_cuda_ops" --require >"$T/ops2" 2>&1 || bad "test_cuda_ops (second process)"
h1=$(sed -n 's/.*GPU bits \([0-9a-f]*\).*/\1/p' "$T/ops1")
h2=$(sed -n 's/.*GPU bits \([0-9a-f]*\).*/\1/p' "$T/ops2")
if [ -n "$h1" ] && [ "$h1" = "$h2" ]; then
    echo "check-gpu: two processes gave the same GPU bits ($h1)"
else
    bad "two processes gave different GPU bits ('$h1', '$h2')"
fi

if ! "$BP" train --help 2>&1 | grep -q -- '--device'; then
    echo "check-gpu: NOT RUN: the CLI has no --device option yet (gradcheck, same model" \
        "files, CPU evaluation of a GPU model, Fashion-MNIST)"
    exit $fail
fi

# The gradcheck command runs on the CPU only; on the GPU the gradients are
# checked op by op against the CPU backend (test_cuda_ops above).
echo "check-gpu: NOT RUN: gradcheck on the GPU (the gradcheck command has no --device)"

echo "check-gpu: two GPU runs give the same model file"
for i in 1 2; do
    "$BP" train data/iris.csv --device cuda --optimizer adam --dropout 0.1 --epochs 20 \
        --seed 5 -q -o "$T/iris$i.bpm" >"$T/train$i" 2>&1 || { cat "$T/train$i"; bad "train $i"; }
done
cmp -s "$T/iris1.bpm" "$T/iris2.bpm" || bad "two GPU runs wrote different model files"

# Fashion-MNIST from Debian's package or $BACKPROP_DATA; else synthetic data.
data=fashion-mnist
if [ -z "${BACKPROP_DATA:-}" ] && [ ! -d /usr/share/datasets/fashion-mnist ]; then
    echo "check-gpu: no Fashion-MNIST here: the 10-epoch run uses synthetic data (no 88% check)"
    /usr/bin/python3 - "$T/synth.csv" <<'PY' || bad "could not write synthetic data"
import random, sys
random.seed(1)
with open(sys.argv[1], "w") as f:
    f.write(",".join(f"p{i}" for i in range(784)) + ",label\n")
    for r in range(12000):
        c = r % 10
        f.write(",".join("%.3f" % (random.random() * (1.5 if i % 10 == c else 1.0)) for i in range(784)))
        f.write(",%d\n" % c)
PY
    data="$T/synth.csv"
fi
echo "check-gpu: 784-256-128-10 Adam, 10 epochs on $data"
start=$(date +%s)
"$BP" train "$data" --device cuda --layers 784,256,128,10 --act relu --optimizer adam \
    --lr 0.001 --batch 128 --epochs 10 --schedule cosine --val 0 -q -o "$T/fm.bpm" \
    >"$T/fm" 2>&1 || { cat "$T/fm"; bad "Fashion-MNIST training"; }
echo "check-gpu: trained in $(( $(date +%s) - start )) s"
acc_gpu=$(sed -n 's/^test: .*accuracy \([0-9.]*\).*/\1/p' "$T/fm")
if [ "$data" = fashion-mnist ]; then
    awk -v a="$acc_gpu" 'BEGIN { exit !(a >= 0.88) }' || bad "test accuracy '$acc_gpu' < 0.88"
    "$BP" eval "$T/fm.bpm" fashion-mnist >"$T/cpu_eval" 2>&1 || bad "CPU eval of the GPU model"
    acc_cpu=$(sed -n 's/.*accuracy[: ]*\([0-9.]*\).*/\1/p' "$T/cpu_eval" | head -1)
    awk -v a="$acc_gpu" -v b="$acc_cpu" 'BEGIN { d = a - b; exit !(d <= 0.001 && d >= -0.001) }' ||
        bad "GPU accuracy $acc_gpu, the same model on the CPU $acc_cpu (more than 0.1 point apart)"
    echo "check-gpu: test accuracy $acc_gpu (GPU), $acc_cpu (the same model on the CPU)"
fi
[ "$fail" -eq 0 ] && echo "check-gpu: all passed"
exit $fail
