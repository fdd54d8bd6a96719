#!/bin/sh
# Machine-readable results: eval --json and train --json parse as JSON (no
# NaN), agree with the text report, and their supports, confusion matrix and
# averages add up; class names that need escaping; the training log's test and
# RMSE columns; info's per-layer summary.
TEST=cli_json; . "$(dirname "$0")/lib.sh"
check() { # description python-program (reads the JSON in $T/out, text in $T/err)
    if "$PY" - "$T/out" "$T/err" <<PYEOF >"$T/py" 2>&1; then ok; else bad "$1"; cat "$T/py"; fi
import json, math, re, sys
def no_constants(c):
    raise ValueError("JSON must not hold " + c)
doc = json.load(open(sys.argv[1]), parse_constant=no_constants)
text = open(sys.argv[2]).read()
def close(a, b, tol=1e-9):
    assert abs(a - b) <= tol * max(1.0, abs(a), abs(b)), (a, b)
def check_classification(m):
    k = len(m["classes"])
    cm = m["confusion_matrix"]["matrix"]
    assert len(cm) == k and all(len(r) == k for r in cm), cm
    assert sum(map(sum, cm)) == m["rows"], "confusion sums to rows"
    assert sum(c["support"] for c in m["classes"]) == m["rows"], "supports sum to rows"
    assert [c["class"] for c in m["classes"]] == m["confusion_matrix"]["labels"]
    for i, c in enumerate(m["classes"]):
        assert c["support"] == sum(cm[i]), "support is the true-class row sum"
    close(m["accuracy"], sum(cm[i][i] for i in range(k)) / m["rows"])
    for key in ("precision", "recall", "f1"):
        close(m["macro_avg"][key], sum(c[key] for c in m["classes"]) / k)
        close(m["weighted_avg"][key],
              sum(c[key] * c["support"] for c in m["classes"]) / m["rows"])
    assert m["macro_avg"]["support"] == m["weighted_avg"]["support"] == m["rows"]
$2
PYEOF
}

# eval --json on a 3-class model: the document on stdout, the text on stderr.
expect_rc 0 "train iris" "$BP" train data/iris.csv --hidden 8 --epochs 20 --scale standard \
    --val 0.2 --seed 5 --threads 1 -q -o "$T/iris.bpm"
expect_rc 0 "eval --json" "$BP" eval "$T/iris.bpm" data/iris.csv --json
check "eval --json agrees with the text and adds up" '
m = doc["metrics"]
assert doc["command"] == "eval" and m["task"] == "classification" and m["rows"] == 150
check_classification(m)
acc = float(re.search(r"eval: loss ([0-9.]+)  accuracy ([0-9.]+)", text).group(2))
assert "%.4f" % m["accuracy"] == "%.4f" % acc, (m["accuracy"], acc)
assert m["confusion_matrix"]["labels"] == ["setosa", "versicolor", "virginica"]
'
"$BP" eval "$T/iris.bpm" data/iris.csv >"$T/plain" 2>&1
if grep -qF "eval: loss" "$T/plain" && ! grep -qF '"metrics"' "$T/plain"; then ok; else
    bad "eval without --json prints the text report only"; fi

# Class names that need escaping in JSON: a quote and a backslash.
printf 'x1,x2,label\n0,0,"say ""hi"""\n0,1,back\\slash\n1,0,back\\slash\n1,1,"say ""hi"""\n' \
    >"$T/esc.csv"
expect_rc 0 "train on escaped labels" "$BP" train "$T/esc.csv" --epochs 3 --val 0 -q -o "$T/esc.bpm"
expect_rc 0 "eval --json, escaped labels" "$BP" eval "$T/esc.bpm" "$T/esc.csv" --json
check "labels with a quote and a backslash round-trip" '
m = doc["metrics"]
check_classification(m)
assert sorted(m["confusion_matrix"]["labels"]) == ["back\\slash", "say \"hi\""], m["confusion_matrix"]["labels"]
'

# Regression: MSE, RMSE, MAE, R²; R² of constant targets is NaN, written as null.
"$PY" -c '
import random
random.seed(1)
print("a,b,y")
for i in range(120):
    a, b = random.random(), random.random()
    print("%.4f,%.4f,%.4f" % (a, b, a + 2 * b))
' >"$T/reg.csv"
expect_rc 0 "train regression" "$BP" train "$T/reg.csv" --epochs 5 --seed 2 --threads 1 \
    --test "$T/reg.csv" --log "$T/reglog.csv" -q -o "$T/reg.bpm"
expect_rc 0 "eval --json regression" "$BP" eval "$T/reg.bpm" "$T/reg.csv" --json
check "regression metrics" '
m = doc["metrics"]
assert m["task"] == "regression" and m["rows"] == 120
close(m["rmse"], math.sqrt(m["mse"]))
mse = float(re.search(r"MSE ([0-9.e+-]+)", text).group(1))
close(m["mse"], mse, 1e-4)
assert "accuracy" not in m and m["r2"] is not None
'
"$PY" -c 'print("a,b,y"); [print("%d,%d,1" % (i, i)) for i in range(12)]' >"$T/const.csv"
expect_rc 0 "eval --json, constant targets" "$BP" eval "$T/reg.bpm" "$T/const.csv" --json
check "NaN R² is null" 'assert doc["metrics"]["r2"] is None, doc["metrics"]'

# The log's RMSE columns for regression: the last row matches the final test RMSE.
head -1 "$T/reglog.csv" >"$T/h"
contains "$T/h" "epoch,seconds,samples_per_s,learning_rate,train_loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy,train_rmse,val_rmse,test_rmse" "new log header keeps the old columns first"
"$PY" - "$T/reglog.csv" <<'PYEOF' >"$T/py" 2>&1 && ok || { bad "regression log has RMSE columns"; cat "$T/py"; }
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 5
for r in rows:
    for c in ("train_rmse", "val_rmse", "test_rmse", "test_loss"):
        assert r[c] and math.isfinite(float(r[c])), (c, r)
    assert r["test_accuracy"] == "" and r["train_accuracy"] == ""
    # MSE loss is ½Σ over one output: RMSE = √(2·loss)
    assert abs(float(r["val_rmse"]) - math.sqrt(2 * float(r["val_loss"]))) < 1e-6
PYEOF

# train --json: final train/validation/test metrics, epochs, seconds; the
# test accuracy equals the text's; the log's last test_accuracy is the same.
expect_rc 0 "train --json" "$BP" train data/iris.csv --hidden 8 --epochs 7 --scale standard \
    --val 0.2 --seed 5 --threads 1 --test data/iris.csv --log "$T/log.csv" --json -o "$T/i2.bpm"
check "train --json" '
assert doc["command"] == "train" and doc["epochs"] == 7 and doc["seconds"] >= 0
for key in ("train", "validation", "test"):
    check_classification(doc[key])
assert doc["train"]["rows"] + doc["validation"]["rows"] == 150 and doc["test"]["rows"] == 150
acc = re.search(r"test: loss [0-9.]+  accuracy ([0-9.]+)", text).group(1)
assert "%.4f" % doc["test"]["accuracy"] == acc, (doc["test"]["accuracy"], acc)
assert "epoch 7/7" in text, "progress goes to standard error"
'
"$PY" - "$T/log.csv" "$T/out" <<'PYEOF' >"$T/py" 2>&1 && ok || { bad "log has test metrics per epoch"; cat "$T/py"; }
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
doc = json.load(open(sys.argv[2]))
assert len(rows) == 7
assert all(r["test_loss"] and r["test_accuracy"] for r in rows), rows
assert abs(float(rows[-1]["test_accuracy"]) - doc["test"]["accuracy"]) < 1e-6
assert abs(float(rows[-1]["test_loss"]) - doc["test"]["loss"]) < 1e-5
PYEOF
expect_rc 0 "train --json without validation or test" "$BP" train data/iris.csv --epochs 2 --val 0 \
    --json -o "$T/i3.bpm"
check "missing sets are null" 'assert doc["validation"] is None and doc["test"] is None and doc["train"]["rows"] == 150'
expect_rc 0 "train without --log --test" "$BP" train data/iris.csv --epochs 2 --log "$T/l2.csv" -q -o "$T/i4.bpm"
"$PY" -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); assert all(x["test_loss"]=="" for x in r)' \
    "$T/l2.csv" && ok || bad "no test columns filled without --test"

# --resume appends to a log of the first format in that format, so it still plots.
expect_rc 0 "train with checkpoint" "$BP" train data/iris.csv --epochs 2 --seed 1 -q \
    --checkpoint "$T/ck" -o "$T/r.bpm"
printf 'epoch,seconds,samples_per_s,learning_rate,train_loss,train_accuracy,val_loss,val_accuracy\n1,0.1,10,0.001,1.0,0.5,1.1,0.4\n2,0.1,10,0.001,0.9,0.6,1.0,0.5\n' >"$T/old.csv"
expect_rc 0 "resume onto an old log" "$BP" train data/iris.csv --resume "$T/ck" --epochs 4 -q \
    --test data/iris.csv --log "$T/old.csv" -o "$T/r.bpm"
"$PY" -c 'import sys; ls=open(sys.argv[1]).read().split(); assert len(ls)==5 and all(l.count(",")==7 for l in ls), ls' \
    "$T/old.csv" && ok || bad "old log stays in its format"
expect_rc 0 "plot the appended old log" "$BP" plot "$T/old.csv" -o "$T/old.svg"

# info: the per-layer summary adds up to the parameter count.
expect_rc 0 "info" "$BP" info "$T/i2.bpm"
contains "$T/out" "summary:" "info has a summary"
"$PY" - "$T/out" <<'PYEOF' >"$T/py" 2>&1 && ok || { bad "info summary"; cat "$T/py"; }
import re, sys
text = open(sys.argv[1]).read()
total = int(re.search(r"^parameters: (\d+)$", text, re.M).group(1))
rows = re.findall(r"^(\d+)(?: \(out\))?\s+(\d+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)$", text, re.M)
assert [(r[1], r[2]) for r in rows] == [("8", "relu"), ("3", "softmax")], rows
assert rows[0][3:] == ("32", "8", "40") and rows[1][3:] == ("24", "3", "27"), rows
assert int(re.search(r"^total\s+(\d+)$", text, re.M).group(1)) == total == 67
PYEOF
expect_rc 0 "info on the article's net" "$BP" info examples/article.net
contains "$T/out" "2 (out)" "summary marks the output layer"

echo "cli_json: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
