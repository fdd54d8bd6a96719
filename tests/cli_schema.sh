#!/bin/sh
# A model keeps the schema of its training data and every command maps new
# data through it (issue 13, items 1, 2, 4, 5, 11): class labels in the
# model's order whatever order a test file lists them in, columns by name,
# whole-number and one-hot targets read as classes, FANN files by content,
# predict without a target column, step applying the model's scaling.
TEST=cli_schema; . "$(dirname "$0")/lib.sh"
same() { # a b description
    if [ "$1" = "$2" ]; then ok; else bad "$3: '$1' != '$2'"; fi
}
acc_of() { sed -n 's/.*accuracy \([0-9.]*\).*/\1/p' "$1" | head -1; }
# Accuracy from predict's output (column 1 = class) and the true labels (one per line).
acc_from() { # predictions.csv labels.txt
    tail -n +2 "$1" | cut -d, -f1 | paste -d, - "$2" |
        awk -F, '{ n++; if ($1 == $2) k++ } END { printf "%.4f\n", k / n }'
}
TRAIN="--hidden 16 --epochs 60 --batch 16 --lr 0.01 --scale standard --val 0 --seed 3 --threads 1 -q"

# ---- string labels: the test file starts with another class (item 1) --------
head -1 data/iris.csv >"$T/train.csv"
tail -n +2 data/iris.csv | awk 'NR % 5 != 0' >>"$T/train.csv"      # setosa first
head -1 data/iris.csv >"$T/test.csv"
tail -n +2 data/iris.csv | awk 'NR % 5 == 0' | sort -t, -k5,5r >>"$T/test.csv"  # virginica first
tail -n +2 "$T/test.csv" | cut -d, -f5 >"$T/test.labels"
expect_rc 0 "train on strings" "$BP" train "$T/train.csv" $TRAIN -o "$T/s.bpm"
expect_rc 0 "eval on strings" "$BP" eval "$T/s.bpm" "$T/test.csv"
cp "$T/out" "$T/eval1"
A=$(acc_of "$T/eval1")
expect_rc 0 "predict on strings" "$BP" predict "$T/s.bpm" "$T/test.csv" -o "$T/p.csv"
same "$A" "$(acc_from "$T/p.csv" "$T/test.labels")" "eval accuracy = predict accuracy (strings)"
case "$A" in 0.9*|1.0*) ok ;; *) bad "string-label accuracy $A is too low" ;; esac
# Shuffling the test rows changes no metric.
head -1 "$T/test.csv" >"$T/shuf.csv"
tail -n +2 "$T/test.csv" | awk 'NR % 2 == 0' >>"$T/shuf.csv"
tail -n +2 "$T/test.csv" | awk 'NR % 2 == 1' >>"$T/shuf.csv"
expect_rc 0 "eval shuffled" "$BP" eval "$T/s.bpm" "$T/shuf.csv"
if cmp -s "$T/out" "$T/eval1"; then ok; else bad "shuffled test rows change eval's output"; fi
# train --test maps the test file the same way.
expect_rc 0 "train --test" "$BP" train "$T/train.csv" $TRAIN --test "$T/test.csv" -o "$T/s2.bpm"
sed -n 's/^test: .*accuracy \([0-9.]*\).*/\1/p' "$T/out" >"$T/tacc"
same "$(cat "$T/tacc")" "$A" "train --test accuracy = eval accuracy"
# A test file with a subset of the classes.
head -1 "$T/test.csv" >"$T/sub.csv"
grep -v setosa "$T/test.csv" | tail -n +2 >>"$T/sub.csv"
expect_rc 0 "eval on a subset of the classes" "$BP" eval "$T/s.bpm" "$T/sub.csv"
contains "$T/out" "(20 rows)" "subset rows"
contains "$T/out" "virginica" "subset keeps the model's classes"
# An unseen label names itself and its line.
{ cat "$T/test.csv"; echo "5.0,3.0,1.5,0.2,daisy"; } >"$T/unseen.csv"
expect_rc 1 "unseen label" "$BP" eval "$T/s.bpm" "$T/unseen.csv"
contains "$T/err" 'unseen.csv:32:5: class label "daisy" is not one the model was trained on (its classes: setosa, versicolor, virginica)' "unseen label message"
if grep -q "hint:" "$T/err"; then bad "a schema mismatch gets the CSV format hint"; else ok; fi

# ---- columns by name (any order, extra ignored, missing named) -------------
awk -F, 'BEGIN { OFS = "," } { print (NR == 1 ? "row" : NR - 1), $5, $4, $1, $3, $2 }' "$T/test.csv" >"$T/reord.csv"
expect_rc 0 "eval reordered columns" "$BP" eval "$T/s.bpm" "$T/reord.csv"
same "$(acc_of "$T/out")" "$A" "reordered header: same accuracy"
contains "$T/err" "ignoring 1 column the model does not use: row" "note on the extra column"
expect_rc 0 "predict reordered columns" "$BP" predict "$T/s.bpm" "$T/reord.csv" -o "$T/pr.csv"
same "$(acc_from "$T/pr.csv" "$T/test.labels")" "$A" "reordered header: predict accuracy"
cut -d, -f1,2,3,5,6 "$T/reord.csv" >"$T/missing.csv"
expect_rc 1 "missing column" "$BP" eval "$T/s.bpm" "$T/missing.csv"
contains "$T/err" 'missing.csv: no column "sepal_length"' "missing column named"

# ---- predict without the target (item 4), --id and --with-target -----------
cut -d, -f1-4 "$T/test.csv" >"$T/features.csv"
expect_rc 0 "predict on features only" "$BP" predict "$T/s.bpm" "$T/features.csv" -o "$T/pf.csv"
if cmp -s "$T/pf.csv" "$T/p.csv"; then ok; else bad "predict without the target differs"; fi
expect_rc 1 "eval needs a target" "$BP" eval "$T/s.bpm" "$T/features.csv"
contains "$T/err" 'has no target column ("species")' "eval without target"
expect_rc 0 "predict --id --with-target" "$BP" predict "$T/s.bpm" "$T/reord.csv" --id row --with-target
contains "$T/out" "row,class,target,p_setosa,p_versicolor,p_virginica" "predict header with id and target"
tail -n +2 "$T/out" | head -1 | grep -q '^1,[a-z]*,virginica,' && ok || bad "first row: id 1, true class virginica"

# ---- whole-number labels 1/2/3 and 10/20/30 (item 2) -----------------------
for L in "1 2 3" "10 20 30"; do
    set -- $L
    for f in train test shuf sub; do
        sed -e "s/setosa/$1/" -e "s/versicolor/$2/" -e "s/virginica/$3/" "$T/$f.csv" >"$T/n$f.csv"
    done
    tail -n +2 "$T/ntest.csv" | cut -d, -f5 >"$T/ntest.labels"
    expect_rc 0 "train on labels $L" "$BP" train "$T/ntrain.csv" $TRAIN -o "$T/n.bpm"
    contains "$T/err" "read as 3 classes in sorted order (--task regression" "note: labels $L are classes"
    expect_rc 0 "info labels $L" "$BP" info "$T/n.bpm"
    contains "$T/out" "architecture: 4-16-3" "labels $L give 3 outputs"
    contains "$T/out" "classes: $1, $2, $3" "labels $L are the class names"
    expect_rc 0 "eval labels $L" "$BP" eval "$T/n.bpm" "$T/ntest.csv"
    cp "$T/out" "$T/neval"
    NA=$(acc_of "$T/neval")
    expect_rc 0 "predict labels $L" "$BP" predict "$T/n.bpm" "$T/ntest.csv" -o "$T/np.csv"
    same "$NA" "$(acc_from "$T/np.csv" "$T/ntest.labels")" "eval accuracy = predict accuracy ($L)"
    case "$NA" in 0.9*|1.0*) ok ;; *) bad "labels $L: accuracy $NA is too low" ;; esac
    expect_rc 0 "eval shuffled ($L)" "$BP" eval "$T/n.bpm" "$T/nshuf.csv"
    if cmp -s "$T/out" "$T/neval"; then ok; else bad "labels $L: shuffling changes eval"; fi
    expect_rc 0 "eval subset ($L)" "$BP" eval "$T/n.bpm" "$T/nsub.csv"
done
expect_rc 0 "--task regression overrides" "$BP" train "$T/ntrain.csv" $TRAIN --task regression -o "$T/r.bpm"
expect_rc 0 "info regression" "$BP" info "$T/r.bpm"
contains "$T/out" "architecture: 4-16-1" "regression on whole numbers when asked"

# ---- FANN one-hot files, recognised by content (item 11) --------------------
tail -n +2 data/iris.csv | awk -F, '
    { x[NR] = $1 " " $2 " " $3 " " $4; y[NR] = ($5 == "setosa" ? "1 0 0" : $5 == "versicolor" ? "0 1 0" : "0 0 1") }
    END { print NR, 4, 3; for (i = 1; i <= NR; i++) { print x[i]; print y[i] } }' >"$T/iris.fann"
expect_rc 0 "train FANN one-hot" "$BP" train "$T/iris.fann" $TRAIN -o "$T/f.bpm"
contains "$T/err" "one-hot vectors: read as 3 classes" "note: one-hot FANN"
expect_rc 0 "info FANN model" "$BP" info "$T/f.bpm"
contains "$T/out" "task: classification" "FANN one-hot is classification"
contains "$T/out" "loss: xent" "FANN one-hot trains softmax/xent"
cp "$T/iris.fann" "$T/iris.data"
expect_rc 0 "eval FANN" "$BP" eval "$T/f.bpm" "$T/iris.data"
contains "$T/out" "accuracy" "FANN eval reports accuracy"
contains "$T/out" "confusion matrix" "FANN eval reports the confusion matrix"
expect_rc 0 "--task classification on FANN" "$BP" train "$T/iris.fann" $TRAIN --task classification -o "$T/f2.bpm"
printf '2 1 2\n1\n0.5 0.2\n2\n0.1 0.9\n' >"$T/reg.fann"
expect_rc 2 "--task classification on non-one-hot FANN" "$BP" train "$T/reg.fann" $TRAIN --task classification -o "$T/f3.bpm"
contains "$T/err" "--task classification needs one target column of class labels or one-hot" "refused, not ignored"
printf 'a b\n1 2\n' >"$T/junk.txt"
expect_rc 1 "neither CSV nor FANN" "$BP" train "$T/junk.txt" $TRAIN -o "$T/j.bpm"
contains "$T/err" "hint:" "a hint about the formats"

# ---- step applies the model's scaling as draw does (item 5) -----------------
expect_rc 0 "step on a scaled model" "$BP" step "$T/s.bpm" --input 5.1,3.5,1.4,0.2 --target 1,0,0
S=$(grep 's_h1 = ' "$T/out" | head -1 | sed 's/.* = //')
expect_rc 0 "draw the same input" "$BP" draw "$T/s.bpm" --input 5.1,3.5,1.4,0.2 -o "$T/d.svg"
contains "$T/d.svg" "s = $S" "draw shows step's s_h1 ($S)"

# ---- model files of the previous format still load --------------------------
expect_rc 0 "info on a version 1 model" "$BP" info tests/data/iris-v1.bpm
contains "$T/out" "classes: setosa, versicolor, virginica" "v1 class names"
expect_rc 0 "eval a version 1 model" "$BP" eval tests/data/iris-v1.bpm "$T/test.csv"
V1=$(acc_of "$T/out")
expect_rc 0 "predict with a version 1 model" "$BP" predict tests/data/iris-v1.bpm "$T/test.csv" -o "$T/p1.csv"
same "$V1" "$(acc_from "$T/p1.csv" "$T/test.labels")" "v1 model: eval accuracy = predict accuracy"

echo "cli_schema: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
