#!/bin/sh
# Issue 13 (h13b): defaults that work (scaling, training length, validation
# split), --epochs 0, leaky slope 0, cross-entropy targets, the flat-spot
# option, CLI habits (help CMD, did you mean, every option in --help and the
# man page) and a man page without troff warnings.
TEST=cli_defaults; . "$(dirname "$0")/lib.sh"

# ---- help CMD, did you mean ---------------------------------------------------
for c in step draw train eval predict plot gradcheck info export; do
    "$BP" "$c" --help >"$T/want" 2>&1
    if "$BP" help "$c" >"$T/got" 2>&1 && cmp -s "$T/want" "$T/got"; then ok; else bad "help $c differs from $c --help"; fi
done
expect_rc 2 "help of an unknown command" "$BP" help nosuch
contains "$T/err" "unknown command 'nosuch'" "help nosuch"
expect_rc 2 "--epoch" "$BP" train data/iris.csv --epoch 3
contains "$T/err" "did you mean '--epochs'?" "suggestion for --epoch"
expect_rc 2 "--hiden=8" "$BP" train data/iris.csv --hiden=8
contains "$T/err" "did you mean '--hidden'?" "suggestion for --hiden"
expect_rc 2 "--zzzz" "$BP" train data/iris.csv --zzzz
lacks "$T/err" "did you mean" "no suggestion for a far miss"

# ---- every option a command accepts is in its --help and in the man page -----
# The parser and --help share one table, so an option --help lists is accepted;
# check that none is answered "unknown option" and that backprop.1 has it.
for c in step draw train eval predict plot gradcheck info export; do
    "$BP" "$c" --help | sed -n 's/^  \(-., \)\{0,1\} *--\([a-z][a-z-]*\).*/\2/p' >"$T/opts"
    [ -s "$T/opts" ] || { bad "$c --help lists no options"; continue; }
    while read -r o; do
        [ "$o" = help ] && continue
        "$BP" "$c" "--$o" >/dev/null 2>"$T/err" </dev/null
        if grep -q "unknown option" "$T/err"; then bad "$c --$o is listed but not accepted"; else ok; fi
        man_o=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
        if grep -q -- "\\\\-\\\\-$man_o\\b" man/backprop.1; then ok; else bad "man page lacks $c --$o"; fi
    done <"$T/opts"
done
for c in step draw; do
    "$BP" "$c" --help >"$T/out"
    contains "$T/out" "--target" "$c --help lists --target"
done

# ---- the man page --------------------------------------------------------------
if command -v groff >/dev/null 2>&1; then
    if groff -man -Tutf8 -ww -z man/backprop.1 >"$T/warn" 2>&1 && [ ! -s "$T/warn" ]; then ok; else
        bad "groff warns about man/backprop.1"; cat "$T/warn"; fi
    groff -man -Tutf8 man/backprop.1 2>/dev/null | sed 's/.\x08//g' >"$T/man"
    contains "$T/man" "w' = w - η·∂E/∂w" "man page shows the update rule"
else
    echo "cli_defaults: groff not found, man page checks skipped"
fi

# ---- --epochs, --val -------------------------------------------------------------
expect_rc 2 "--epochs 0" "$BP" train data/iris.csv --epochs 0 -o "$T/m.bpm"
contains "$T/err" "--epochs: expected a whole number in 1..1000000, got '0'" "--epochs 0 message"
[ -e "$T/m.bpm" ] && bad "--epochs 0 saved a model" || ok
expect_rc 2 "--val 0.1 on 4 rows" "$BP" train data/xor.csv --val 0.1 -o "$T/m.bpm"
contains "$T/err" "--val 0.1 leaves 1 validation row of 4 (at least 10 are needed)" "too small --val"
lacks "$T/out" "nan" "no R² nan"
expect_rc 0 "default split on 4 rows" "$BP" train data/xor.csv --epochs 2 -o "$T/m.bpm"
contains "$T/err" "note: no validation split" "default split skipped with a note"
# A class with a single row cannot be in the validation part.
{ echo "x,y"; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do
    echo "$i,a"; echo "$i.5,b"; done; echo "99,c"; } >"$T/lonely.csv"
expect_rc 2 "--val leaving out a class" "$BP" train "$T/lonely.csv" --val 0.2 -o "$T/m.bpm"
contains "$T/err" "leaves no validation row of class c" "missing class named"
# Stratified: each class keeps its share (12 of 60 rows = 6 a + 6 b).
head -61 "$T/lonely.csv" >"$T/two.csv"
expect_rc 0 "stratified --val" "$BP" train "$T/two.csv" --val 0.2 --epochs 1 -o "$T/m.bpm"
contains "$T/out" "validation: " "validation printed"
contains "$T/out" "(12 rows)" "12 validation rows"

# ---- training length -------------------------------------------------------------
expect_rc 0 "explicit --epochs" "$BP" train data/iris.csv --epochs 3 -o "$T/m.bpm"
contains "$T/out" "epoch 3/3" "exactly 3 epochs"
lacks "$T/out" "epoch 4/" "no 4th epoch"
lacks "$T/out" "stopped early" "no early stop with --epochs"

# ---- mixed-scale table with all defaults (data/README.md) -------------------------
# Tuned: --hidden 32 --epochs 100 --val 0 --lr 0.01 gives test accuracy 0.9773;
# the defaults must come within 2 points of it.
expect_rc 0 "wine with defaults" "$BP" train data/wine_train.csv --test data/wine_test.csv -o "$T/w.bpm"
acc=$(sed -n 's/^test: .*accuracy \([0-9.]*\).*/\1/p' "$T/out")
if [ -n "$acc" ] && awk "BEGIN { exit !($acc >= 0.9773 - 0.02) }"; then ok; else
    bad "wine defaults: test accuracy '$acc' is not within 2 points of 0.9773"; cat "$T/out"; fi
contains "$T/out" "stopped early after epoch" "says why it stopped"
contains "$T/out" "kept the weights of epoch" "says which weights it kept"
"$BP" info "$T/w.bpm" >"$T/info" 2>&1
contains "$T/info" "standard" "standard scaling stored"
expect_rc 0 "wine --scale none" "$BP" train data/wine_train.csv --test data/wine_test.csv --scale none -q -o "$T/w.bpm"

# ---- leaky-ReLU slope 0 is kept ----------------------------------------------------
cat >"$T/leaky.net" <<'EOF'
backprop-net 1
inputs 1
layer 1 leaky-relu nobias slope=0
weights
1
layer 1 linear nobias
weights
1
EOF
expect_rc 0 "export slope=0" "$BP" export "$T/leaky.net" -o "$T/back.net"
if grep -q "slope=0\$" "$T/back.net"; then ok; else bad "slope 0 not kept"; cat "$T/back.net"; fi
expect_rc 0 "step slope=0" "$BP" step "$T/leaky.net" --input -2 --target 0
contains "$T/out" "s_o1 = w2·a_h1 = 1.0000·0.0000 = 0.0000" "plain ReLU gives 0 for a negative sum"

# ---- cross-entropy targets -----------------------------------------------------------
cat >"$T/xent.net" <<'EOF'
backprop-net 1
inputs 1
loss xent
layer 2 softmax nobias
weights
0.5
-0.5
EOF
expect_rc 1 "xent target 1 1" "$BP" step "$T/xent.net" --input 1 --target 1,1
contains "$T/err" "must sum to 1" "xent target message"
expect_rc 0 "xent one-hot target" "$BP" step "$T/xent.net" --input 1 --target 0,1

# ---- flat spot ------------------------------------------------------------------------
expect_rc 0 "--flat-spot" "$BP" train data/xor.csv --act sigmoid --flat-spot 0.1 --epochs 2 -o "$T/m.bpm"
expect_rc 2 "--flat-spot -1" "$BP" train data/xor.csv --flat-spot -1 -o "$T/m.bpm"

echo "cli_defaults: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
