#!/bin/sh
# CLI behaviour: the article's numbers, help and exit codes, train → save →
# load → eval/predict, export round trip, thread-count and resume bit-identity.
TEST=cli_basic; . "$(dirname "$0")/lib.sh"

expect_rc 0 "step" "$BP" step examples/article.net
contains "$T/out" "δo1 = (a_o1 − expected1)·a_o1·(1 − a_o1) = (0.5925 − 1.0000)·0.5925·(1 − 0.5925) = -0.0984" "step δo1"
contains "$T/out" "= 0.1479" "step δo2"
contains "$T/out" "w7' = w7 − η·∂E/∂w7 = 0.1200 − 0.1·(-0.0595) = 0.1259" "step w7'"
contains "$T/out" "δh1 = (δo1·w7 + δo2·w10)" "step hidden delta"
expect_rc 0 "step markdown" "$BP" step examples/article.net --format markdown
contains "$T/out" '\delta_{o1}' "markdown delta"
contains "$T/out" '$$' "markdown display maths"
expect_rc 0 "step --out" "$BP" step examples/article.net --out "$T/after.net"
expect_rc 0 "step on the updated net" "$BP" step "$T/after.net"
contains "$T/out" "w7' = w7 − η·∂E/∂w7 = 0.1259" "second step starts from w7'"
expect_rc 0 "step with --input/--target" "$BP" step examples/article.net --input 1,0 --target 0,1 --lr 0.5
contains "$T/out" "i1 = 1.0000 i2 = 0.0000" "inputs from the command line"
expect_rc 2 "step bad --input count" "$BP" step examples/article.net --input 1,2,3
expect_rc 1 "step missing file" "$BP" step "$T/none.net"
contains "$T/err" "none.net" "missing file named"

expect_rc 0 "--help" "$BP" --help
contains "$T/out" "Usage: backprop COMMAND" "help text"
expect_rc 0 "train --help" "$BP" train --help
contains "$T/out" "--optimizer" "train help lists options"
expect_rc 0 "--version" "$BP" --version
expect_rc 2 "no command" "$BP"
expect_rc 2 "unknown command" "$BP" frobnicate
expect_rc 2 "unknown option" "$BP" step examples/article.net --frob
expect_rc 2 "missing option value" "$BP" step examples/article.net --lr

expect_rc 0 "gradcheck all combinations" "$BP" gradcheck
contains "$T/out" "all combinations agree" "gradcheck summary"
expect_rc 0 "gradcheck a file" "$BP" gradcheck examples/article.net

expect_rc 0 "draw" "$BP" draw examples/article.net -o "$T/a.svg"
contains "$T/a.svg" "w12" "svg has w12"
contains "$T/a.svg" "</svg>" "svg complete"

# Train on iris, save, evaluate, predict; the saved model must give the same answers.
expect_rc 0 "train iris" "$BP" train data/iris.csv --hidden 16 --epochs 60 --batch 16 --lr 0.01 \
    --scale standard --val 0.3 --seed 3 --threads 1 --log "$T/log.csv" -o "$T/iris.bpm"
contains "$T/out" "validation: loss" "train prints validation result"
contains "$T/log.csv" "epoch,seconds,samples_per_s,learning_rate,train_loss,train_accuracy,val_loss,val_accuracy" "log header"
expect_rc 0 "info" "$BP" info "$T/iris.bpm"
contains "$T/out" "architecture: 4-16-3" "info architecture"
contains "$T/out" "seed: 3" "seed stored in the model"
expect_rc 0 "eval" "$BP" eval "$T/iris.bpm" data/iris.csv
contains "$T/out" "confusion matrix" "eval confusion matrix"
contains "$T/out" "setosa" "eval class names"
expect_rc 0 "predict" "$BP" predict "$T/iris.bpm" data/iris.csv -o "$T/p1.csv"
contains "$T/p1.csv" "class,p_setosa,p_versicolor,p_virginica" "predict header"
expect_rc 0 "export" "$BP" export "$T/iris.bpm" -o "$T/iris.net"
expect_rc 0 "predict from the exported text net" "$BP" predict "$T/iris.net" data/iris.csv -o "$T/p2.csv"
if cmp -s "$T/p1.csv" "$T/p2.csv"; then ok; else bad "text export changes predictions"; fi
expect_rc 0 "plot" "$BP" plot "$T/log.csv" -o "$T/curves.svg"

# Same seed, 1 or 2 threads: the same model, byte for byte.
expect_rc 0 "train digits 1 thread" "$BP" train data/digits.csv --task classification --hidden 32,16 \
    --epochs 3 --dropout 0.1 --seed 5 --threads 1 -q -o "$T/t1.bpm"
expect_rc 0 "train digits 2 threads" "$BP" train data/digits.csv --task classification --hidden 32,16 \
    --epochs 3 --dropout 0.1 --seed 5 --threads 2 -q -o "$T/t2.bpm"
if cmp -s "$T/t1.bpm" "$T/t2.bpm"; then ok; else bad "--threads 1 and 2 give different models"; fi

# Stopping after 2 of 4 epochs and resuming equals an uninterrupted run.
expect_rc 0 "train 4 epochs" "$BP" train data/digits.csv --task classification --hidden 32 \
    --epochs 4 --schedule cosine --seed 9 -q -o "$T/full.bpm"
expect_rc 0 "train with checkpoints" "$BP" train data/digits.csv --task classification --hidden 32 \
    --epochs 4 --schedule cosine --seed 9 -q --checkpoint "$T/ck.bpc" --checkpoint-every 2 -o "$T/part.bpm"
expect_rc 0 "train 2 epochs of 4, checkpointed" "$BP" train data/digits.csv --task classification --hidden 32 \
    --epochs 2 --schedule cosine --seed 9 -q --checkpoint "$T/ck2.bpc" -o "$T/half.bpm"
expect_rc 0 "resume" "$BP" train data/digits.csv --task classification --resume "$T/ck.bpc" -q -o "$T/resumed.bpm"
if cmp -s "$T/full.bpm" "$T/resumed.bpm"; then ok; else bad "resumed model differs from the uninterrupted one"; fi

# FANN users bring their data.
expect_rc 0 "train on FANN xor.data" "$BP" train data/xor.data --hidden 4 --act tanh --out-act sigmoid \
    --optimizer rprop --epochs 300 --val 0 -q -o "$T/xor.bpm"

echo "cli_basic: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
