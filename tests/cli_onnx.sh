#!/bin/sh
# ONNX export and import (issue 10): export → import → export byte-identical,
# predictions through an imported model the same bits as through the model,
# train/eval/predict/info with --net/MODEL as .onnx, usage errors; with
# Debian's python3-onnx and python3-numpy: onnx.checker (full_check) accepts
# every exported file and a numpy evaluator of the graph matches predict
# (max relative error <= 1e-5) on iris and a Fashion-MNIST model; with
# python3-torch: a torch.onnx.export model is imported, its predictions
# match PyTorch's and it fine-tunes; an unsupported graph is refused naming
# the node.
TEST=cli_onnx; . "$(dirname "$0")/lib.sh"
TOOL=tests/onnx_tool.py
run() { # description command...  (expects exit 0)
    what=$1; shift
    if "$@" >"$T/out" 2>"$T/err"; then ok; else bad "$what"; cat "$T/out" "$T/err"; fi
}

"$BP" train data/iris.csv --epochs 5 -q -o "$T/iris.bpm" >/dev/null 2>&1 || bad "train iris"
"$BP" train data/iris.csv --epochs 3 --hidden 6,5 --act leaky-relu --out-act sigmoid --loss mse \
    --scale none -q -o "$T/leaky.bpm" >/dev/null 2>&1 || bad "train leaky"
"$BP" train data/iris.csv --epochs 3 --hidden 5 --act tanh --no-bias -q -o "$T/tanh.bpm" \
    >/dev/null 2>&1 || bad "train tanh"

for m in iris leaky tanh; do
    run "export $m" "$BP" export "$T/$m.bpm" -o "$T/$m.onnx"
    run "re-export $m" "$BP" export "$T/$m.onnx" --format onnx -o "$T/$m.again"
    if cmp -s "$T/$m.onnx" "$T/$m.again"; then ok; else bad "$m: export → import → export differs"; fi
    "$BP" predict "$T/$m.bpm" data/iris.csv --precision 9 >"$T/a.csv" 2>/dev/null
    "$BP" predict "$T/$m.onnx" data/iris.csv --precision 9 >"$T/b.csv" 2>/dev/null
    if [ -s "$T/a.csv" ] && cmp -s "$T/a.csv" "$T/b.csv"; then ok; else bad "$m: predictions through ONNX differ"; fi
done
run "info on .onnx" "$BP" info "$T/iris.onnx"
grep -q "^classes: setosa, versicolor, virginica" "$T/out" && ok || bad "info: class names lost"
grep -q "^input columns: sepal_length, sepal_width" "$T/out" && ok || bad "info: feature names lost"
run "eval on .onnx" "$BP" eval "$T/iris.onnx" data/iris.csv
run "train --net .onnx" "$BP" train data/iris.csv --net "$T/iris.onnx" --epochs 2 -q -o "$T/ft.bpm"
expect_rc 2 "bad --format" "$BP" export "$T/iris.bpm" --format pdf -o "$T/x"
expect_rc 2 "--header without c" "$BP" export "$T/iris.bpm" --header "$T/x.h" -o "$T/x.onnx"
printf '\010\001garbage' >"$T/bad.onnx"
expect_rc 1 "malformed ONNX refused" "$BP" info "$T/bad.onnx"
grep -q "bad.onnx" "$T/err" && ok || bad "malformed ONNX: message lacks the file name"

if ! "$PY" -c "import numpy, onnx" 2>/dev/null; then
    echo "cli_onnx: python3-onnx or python3-numpy missing: checker, evaluator and torch checks skipped"
else
    for m in iris leaky tanh; do
        run "checker $m" "$PY" $TOOL check "$T/$m.onnx"
        BACKPROP_ISA=portable "$BP" predict "$T/$m.bpm" data/iris.csv --precision 9 >"$T/p.csv" 2>/dev/null
        run "numpy evaluator $m" "$PY" $TOOL eval "$T/$m.onnx" data/iris.csv "$T/p.csv"
        cat "$T/out"
    done
    FM=${BACKPROP_DATA:-/usr/share/datasets}/fashion-mnist
    if [ -f "$FM/t10k-images-idx3-ubyte.gz" ]; then
        "$PY" $TOOL fashion "$FM" "$T/ftrain.csv" "$T/ftest.csv" 2000 300
        "$BP" train "$T/ftrain.csv" --task classification --hidden 32 --epochs 1 -q \
            -o "$T/fm.bpm" >/dev/null 2>&1 || bad "train fashion"
        run "export fashion" "$BP" export "$T/fm.bpm" -o "$T/fm.onnx"
        run "checker fashion" "$PY" $TOOL check "$T/fm.onnx"
        "$BP" predict "$T/fm.bpm" "$T/ftest.csv" --task classification --precision 9 >"$T/p.csv" 2>/dev/null
        run "numpy evaluator fashion" "$PY" $TOOL eval "$T/fm.onnx" "$T/ftest.csv" "$T/p.csv"
        cat "$T/out"
    else
        echo "cli_onnx: no Fashion-MNIST: its checks skipped"
    fi
    run "an ONNX file with an Elu node" "$PY" $TOOL elu "$T/elu.onnx"
    expect_rc 1 "unsupported node refused" "$BP" predict "$T/elu.onnx" data/iris.csv
    grep -q 'unsupported node "elu1" (op Elu)' "$T/err" && ok || { bad "refusal does not name the node"; cat "$T/err"; }
    if "$PY" -c "import torch" 2>/dev/null; then
        run "torch.onnx.export" "$PY" $TOOL torch "$T/torch.onnx" data/iris.csv "$T/torch.ref"
        "$BP" predict "$T/torch.onnx" data/iris.csv --precision 9 >"$T/torch.csv" 2>"$T/err" || cat "$T/err"
        run "torch predictions match" "$PY" $TOOL compare "$T/torch.csv" "$T/torch.ref" 3
        cat "$T/out"
        run "fine-tune a torch model" "$BP" train data/iris.csv --net "$T/torch.onnx" --epochs 2 -q -o "$T/tft.bpm"
    else
        echo "cli_onnx: python3-torch missing: the torch.onnx.export check skipped"
    fi
fi
echo "cli_onnx: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
