#!/bin/sh
# Golden outputs of the explaining commands: step (text, Markdown, HTML, in
# English and Chinese), draw (full, highlighted, without the step, a reduced
# drawing of a wide net) and plot hash to the values in
# tests/golden_explain.sha256.  Their writers were split into one function per
# section and per format; a refactoring must leave every byte as it was.  The
# models are trained on the portable kernels (as in cli_same_bits), so the
# hashes hold on every x86-64 machine.  A change that means to alter the
# output rewrites the file and says why:
#   BUILD=build sh tests/cli_golden_explain.sh --record
TEST=cli_golden_explain; . "$(dirname "$0")/lib.sh"
export BACKPROP_ISA=portable
cd "$(dirname "$0")/.." || exit 1
if ! command -v sha256sum >/dev/null 2>&1; then
    echo "$TEST: 0 passed, 0 failed, 1 skipped (no sha256sum)"; exit 0
fi
A=examples/article.net
run() { # output-file command... (stdout to the file unless the command writes it)
    out=$1; shift
    if "$@" >"$T/stdout" 2>"$T/err"; then ok; else bad "$*"; cat "$T/err"; fi
    [ -f "$T/$out" ] || mv "$T/stdout" "$T/$out"
}
run step.txt "$BP" step "$A"
run step.md "$BP" step "$A" --format markdown
run step-zh.txt "$BP" step "$A" --lang zh
run step-zh.md "$BP" step "$A" --format markdown --lang zh
run step-input.txt "$BP" step "$A" --input 0.1,0.9 --target 0.5,0.5 --lr 0.25
run lesson.html "$BP" step "$A" --format html --steps 20 -o "$T/lesson.html"
run lesson-zh.html "$BP" step "$A" --format html --lang zh --steps 0 -o "$T/lesson-zh.html"
run draw.svg "$BP" draw "$A" -o "$T/draw.svg"
run draw-w7.svg "$BP" draw "$A" --highlight w7 -o "$T/draw-w7.svg"
run draw-h1.svg "$BP" draw "$A" --highlight h1 --lang zh -o "$T/draw-h1.svg"
run draw-nostep.svg "$BP" draw "$A" --no-step -o "$T/draw-nostep.svg"
"$BP" train data/iris.csv --hidden 6 --epochs 4 --threads 1 --log "$T/iris-log.csv" \
    -o "$T/iris.bpm" -q >/dev/null 2>&1 || bad "train iris"
"$BP" train data/digits.csv --hidden 12 --epochs 2 --threads 1 --val 0 \
    -o "$T/digits.bpm" -q >/dev/null 2>&1 || bad "train digits"
run draw-iris.svg "$BP" draw "$T/iris.bpm" --input 5.1,3.5,1.4,0.2 -o "$T/draw-iris.svg"
run draw-digits.svg "$BP" draw "$T/digits.bpm" -o "$T/draw-digits.svg"
run step-iris.txt "$BP" step "$T/iris.bpm" --input 5.1,3.5,1.4,0.2 --target 1,0,0
# The log's seconds and samples per second vary run to run; fix them.
awk -F, -v OFS=, 'NR > 1 { $2 = "0.000100"; $3 = "1000000.0" } 1' "$T/iris-log.csv" >"$T/log.csv"
# Every activation's derivative in the trace: tanh and leaky ReLU hidden
# layers (ReLU is iris's), a linear output with MSE and a sigmoid one with BCE.
"$BP" train data/iris.csv --layers 4,3,3,3 --act tanh --out-act linear --loss mse --epochs 2 \
    --threads 1 -o "$T/tanh.bpm" -q >/dev/null 2>&1 || bad "train tanh"
"$BP" train data/xor.csv --hidden 3 --act leaky-relu --epochs 2 --threads 1 -o "$T/leaky.bpm" \
    -q >/dev/null 2>&1 || bad "train leaky"
run step-tanh.md "$BP" step "$T/tanh.bpm" --input 5.1,3.5,1.4,0.2 --target 1,0,0 \
    --format markdown
run step-leaky.txt "$BP" step "$T/leaky.bpm" --input 1,0 --target 1
run step-leaky.md "$BP" step "$T/leaky.bpm" --input 0,0 --target 0 --format markdown
# Wide layers: sums over more than 8 inputs summarised, more than 64 weights
# cut; softmax with MSE (its own output delta).
run step-digits.txt "$BP" step "$T/digits.bpm" --input "$(head -2 data/digits.csv | tail -1 |
    cut -d, -f1-64)" --target 1,0,0,0,0,0,0,0,0,0
run step-digits.md "$BP" step "$T/digits.bpm" --input "$(head -3 data/digits.csv | tail -1 |
    cut -d, -f1-64)" --target 0,1,0,0,0,0,0,0,0,0 --format markdown
contains "$T/step-digits.txt" "s_h1 = Σ_k w·a over 64 inputs (w1..w64) + b1 = " \
    "a summarised sum keeps its bias term"
contains "$T/step-digits.md" "s_{h1} = \\sum_{k=1}^{64} w_k \\cdot a_k \\;(w_{1} \\ldots w_{64}) + b_{1}" \
    "a summarised sum keeps its bias term (Markdown)"
"$BP" train data/iris.csv --hidden 4 --loss mse --epochs 2 --threads 1 -o "$T/smse.bpm" -q \
    >/dev/null 2>&1 || bad "train softmax+mse"
run step-smse.md "$BP" step "$T/smse.bpm" --input 5.1,3.5,1.4,0.2 --target 0,1,0 --format markdown
run step-smse.txt "$BP" step "$T/smse.bpm" --input 5.1,3.5,1.4,0.2 --target 0,1,0
run plot.svg "$BP" plot "$T/log.csv" -o "$T/plot.svg"

FILES="step.txt step.md step-zh.txt step-zh.md step-input.txt lesson.html lesson-zh.html
draw.svg draw-w7.svg draw-h1.svg draw-nostep.svg draw-iris.svg draw-digits.svg step-iris.txt
step-tanh.md step-leaky.txt step-leaky.md step-digits.txt step-digits.md step-smse.md step-smse.txt
plot.svg"
# shellcheck disable=SC2086
(cd "$T" && sha256sum $FILES) >"$T/got" 2>"$T/err" || { bad "missing outputs"; cat "$T/err"; }
if [ "${1:-}" = --record ]; then
    cp "$T/got" tests/golden_explain.sha256
    echo "$TEST: recorded $(wc -l <"$T/got") hashes"; exit 0
fi
while read -r want name; do
    got=$(awk -v n="$name" '$2 == n { print $1 }' "$T/got")
    if [ "$got" = "$want" ]; then ok; else bad "$name: sha256 $got, expected $want"; fi
done <tests/golden_explain.sha256
echo "$TEST: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
