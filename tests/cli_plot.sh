#!/bin/sh
# Learning curves worth looking at (backprop plot): whole-epoch ticks, a
# one-epoch log, regression logs (RMSE panel), a logarithmic loss axis on
# request and automatically, test curves, and old 8-column logs.
TEST=cli_plot; . "$(dirname "$0")/lib.sh"
# The labels of an SVG's x (epoch) or y axis ticks: text-anchor middle/end.
ticks() { # file middle|end
    "$PY" - "$1" "$2" <<'PYEOF'
import re, sys
svg = open(sys.argv[1]).read()
for t in re.findall(r'<text x="[^"]*" y="[^"]*" text-anchor="%s">([^<]*)</text>' % sys.argv[2], svg):
    print(t)
PYEOF
}
OLD=epoch,seconds,samples_per_s,learning_rate,train_loss,train_accuracy,val_loss,val_accuracy

# 19 epochs once gave ticks every 2.5 epochs ("2.5", "7.5"): every tick is whole.
"$PY" -c "
print('$OLD')
for e in range(1, 20): print('%d,0.1,100,0.01,%.4f,%.4f,%.4f,%.4f' % (e, 1.0/e, 1-0.5/e, 1.1/e, 0.9-0.5/e))
" >"$T/n19.csv"
expect_rc 0 "plot 19 epochs" "$BP" plot "$T/n19.csv" -o "$T/n19.svg"
ticks "$T/n19.svg" middle | grep -v '^epoch$' >"$T/xt"
if [ -s "$T/xt" ] && ! grep -qv '^[0-9][0-9]*$' "$T/xt"; then ok; else
    bad "epoch ticks are whole numbers: $(tr '\n' ' ' <"$T/xt")"; fi
contains "$T/n19.svg" "19 epochs" "epoch count"
for n in 3 7 12 40 250; do
    "$PY" -c "
print('$OLD')
for e in range(1, $n + 1): print('%d,0.1,100,0.01,%.4f,,,' % (e, 1.0/e))
" >"$T/n.csv"
    "$BP" plot "$T/n.csv" -o "$T/n.svg" || bad "plot $n epochs"
    ticks "$T/n.svg" middle | grep -v '^epoch$' >"$T/xt"
    if [ -s "$T/xt" ] && ! grep -qv '^[0-9][0-9]*$' "$T/xt"; then ok; else
        bad "$n epochs: ticks $(tr '\n' ' ' <"$T/xt")"; fi
done

# One epoch: "1 epoch" (not "1 epochs"), a visible marker per curve.
printf '%s\n1,0.2,100,0.01,0.5,0.8,0.6,0.75\n' "$OLD" >"$T/one.csv"
expect_rc 0 "plot one epoch" "$BP" plot "$T/one.csv" -o "$T/one.svg"
contains "$T/one.svg" ">1 epoch," "says 1 epoch"
lacks "$T/one.svg" "1 epochs" "no '1 epochs'"
contains "$T/one.svg" 'r="5"' "a big marker for a lone point"

# Regression log from train: an RMSE panel, not an empty accuracy panel.
"$PY" -c '
import random
random.seed(3)
print("a,b,y")
for i in range(100):
    a, b = random.random(), random.random()
    print("%.4f,%.4f,%.4f" % (a, b, a - b))
' >"$T/reg.csv"
expect_rc 0 "train regression with a log" "$BP" train "$T/reg.csv" --epochs 4 --test "$T/reg.csv" \
    --log "$T/reglog.csv" -q -o "$T/reg.bpm"
expect_rc 0 "plot the regression log" "$BP" plot "$T/reglog.csv" -o "$T/reg.svg"
contains "$T/reg.svg" "RMSE (regression)" "regression panel title"
lacks "$T/reg.svg" "no accuracy values" "no empty accuracy panel"
contains "$T/reg.svg" ">test</text>" "test curve in the legend"
# An old regression log (no RMSE columns): the loss panel alone, with a note.
printf '%s\n1,0.1,900,0.1,0.3,nan,,\n2,0.1,900,0.1,0.2,nan,,\n' "$OLD" >"$T/oldreg.csv"
expect_rc 0 "plot an old regression log" "$BP" plot "$T/oldreg.csv" -o "$T/oldreg.svg"
lacks "$T/oldreg.svg" ">Accuracy<" "no empty accuracy panel for an old regression log"
contains "$T/oldreg.svg" 'height="460"' "one panel"

# Classification log with test columns: test curves in both panels.
expect_rc 0 "train with --test --log" "$BP" train data/iris.csv --epochs 3 --test data/iris.csv \
    --log "$T/cls.csv" -q -o "$T/cls.bpm"
expect_rc 0 "plot it" "$BP" plot "$T/cls.csv" -o "$T/cls.svg"
contains "$T/cls.svg" ">Accuracy<" "accuracy panel"
if [ "$(grep -c 'stroke-dasharray="2 3" points=' "$T/cls.svg")" -eq 2 ]; then ok; else
    bad "a dotted test curve in each panel"; fi

# Log scale: --log-scale gives decade ticks and says so; automatic when the
# loss spans more than two decades; --linear-scale opts out.
expect_rc 0 "plot --log-scale" "$BP" plot "$T/n19.csv" -o "$T/log.svg" --log-scale
contains "$T/log.svg" "loss (log scale)" "axis says log scale"
ticks "$T/log.svg" end >"$T/yt"
contains "$T/yt" "0.1" "log tick 0.1"
contains "$T/yt" "1" "log tick 1"
"$PY" -c "
import math
print('$OLD')
for e in range(1, 31): print('%d,0.1,100,0.01,%.6g,,%.6g,' % (e, 2.5*math.exp(-0.3*e), 3*math.exp(-0.25*e)))
" >"$T/wide.csv"
expect_rc 0 "plot a loss spanning decades" "$BP" plot "$T/wide.csv" -o "$T/wide.svg"
contains "$T/wide.svg" "loss (log scale)" "automatic log scale"
ticks "$T/wide.svg" end >"$T/yt"
for t in 0.001 0.01 0.1 1; do
    if grep -qx -- "$t" "$T/yt"; then ok; else bad "decade tick $t: $(tr '\n' ' ' <"$T/yt")"; fi
done
expect_rc 0 "plot --linear-scale" "$BP" plot "$T/wide.csv" -o "$T/lin.svg" --linear-scale
lacks "$T/lin.svg" "log scale" "linear on request"
lacks "$T/n19.svg" "log scale" "linear when the loss spans less than two decades"
expect_rc 2 "both scales" "$BP" plot "$T/wide.csv" -o "$T/x.svg" --log-scale --linear-scale
expect_rc 0 "plot --help lists --log-scale" "$BP" plot --help
contains "$T/out" "--log-scale" "help"

echo "cli_plot: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
