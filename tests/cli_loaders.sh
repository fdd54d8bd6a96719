#!/bin/sh
# Loaders and their messages through the CLI (docs/reliability.md, "Loaders
# and the C API"): each case checks the exit status, a message fragment and
# that the message is ONE line.  Also: huge or lying model files are refused
# before they are read, truncated models are called that, IDX images without
# labels say how to give them, --resume refuses options it would ignore,
# softmax on one unit is refused, an unknown BACKPROP_ISA warns once.
TEST=cli_loaders; . "$(dirname "$0")/lib.sh"

# case_ NAME RC FRAGMENT CMD...: exit status RC, FRAGMENT on stderr, one line.
case_() {
    name=$1 rc=$2 frag=$3
    shift 3
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    lines=$(wc -l <"$T/err")
    if [ "$got" -ne "$rc" ]; then
        bad "$name: exit $got, expected $rc"; cat "$T/err"
    elif ! grep -qF -- "$frag" "$T/err"; then
        bad "$name: stderr lacks '$frag'"; cat "$T/err"
    elif [ "$rc" -ne 0 ] && [ "$lines" -ne 1 ]; then
        bad "$name: the message has $lines lines, not one"; cat "$T/err"
    else
        pass=$((pass + 1))
    fi
}

TR="train --epochs 1 --threads 1 -q"
$BP $TR data/iris.csv -o "$T/iris.bpm" >/dev/null 2>&1 || { echo "cli_loaders: fixture failed"; exit 1; }
$BP $TR data/xor.csv -o "$T/xor.bpm" --checkpoint "$T/xor.bpc" >/dev/null 2>&1 ||
    { echo "cli_loaders: fixture failed"; exit 1; }

# ---- 10: one line naming the file ------------------------------------------
printf '1,2,3,4,0,1\n' >"$T/two.csv"
case_ "eval outputs mismatch names data and model" 1 "two.csv: 2 target columns, but the model has 3 classes (give one label column or one 0/1 column per class) (model $T/iris.bpm)" \
    $BP eval "$T/iris.bpm" "$T/two.csv" --target 5,6
printf 'a,b\n1,2\n' >"$T/one.csv"
case_ "eval inputs mismatch names the model" 1 "one.csv: no column \"sepal_length\" (input 1 of the model's 4; the header has: a, b) (model $T/iris.bpm)" \
    $BP eval "$T/iris.bpm" "$T/one.csv"
printf 'a,b,y\n1,"x\ny",0\n2,3,1\n' >"$T/nl.csv"
case_ "quoted newline escaped" 1 'nl.csv:2:2: expected a number, found "x\ny"' $BP $TR "$T/nl.csv" -o "$T/m.bpm"
printf 'a,b,y\n1,"x\r\t\001",0\n2,3,1\n' >"$T/ctl.csv"
case_ "control characters escaped" 1 'found "x\r\t\x01"' $BP $TR "$T/ctl.csv" -o "$T/m.bpm"
long=$(printf '%0300d' 0)
printf 'backprop-net 1\ninputs 2\nlayer 1 sigmoid\ninit xavier\n# c\nmeta key %s\n' "$long" >"$T/meta.net"
case_ ".net meta length has a line" 1 "meta.net:6: meta key:" $BP info "$T/meta.net"
printf 'backprop-net 1\ninputs 2\nlayer 2 leaky-relu slope=1.5\ninit xavier\n' >"$T/slope.net"
case_ ".net slope has a line" 1 "slope.net:3: layer slope=1.5: leaky-ReLU slope must be in [0, 1)" $BP info "$T/slope.net"
printf 'backprop-net 1\ninputs 2\nlayer 1 sigmoid nobias\nweights\n1 2\nweights\n3 4\n' >"$T/dup.net"
case_ ".net duplicated weights names the layer" 1 "dup.net:6: layer 1 already has weights (from line 4)" \
    $BP info "$T/dup.net"

# ---- 11: sizes checked before reading ---------------------------------------
head -c 20 "$T/iris.bpm" >"$T/big.bpm"
truncate -s 33G "$T/big.bpm"
case_ "33 GiB model refused unread" 1 "more than the 34359738368-byte limit of a model file; not read" \
    timeout 10 $BP info "$T/big.bpm"
cp "$T/iris.bpm" "$T/lie.bpm"
truncate -s 2G "$T/lie.bpm"
# Under 1 GB of address space (not with ASan, which reserves far more): the
# 2 GiB file must be judged by its size, not read.
LIMIT="sh -c 'ulimit -v 1000000; exec \"\$@\"' sh"
[ -n "${SAN_FLAGS:-}" ] && LIMIT=""
case_ "2 GiB file, header says less" 1 "unexpected bytes after the end of the model" \
    eval timeout 10 $LIMIT '$BP' info '"$T/lie.bpm"'
truncate -s 33G "$T/zero.net"
case_ "33 GiB text file refused unread" 1 "file is larger than the limit" timeout 10 $BP info "$T/zero.net"
rm -f "$T/big.bpm" "$T/lie.bpm" "$T/zero.net"

# ---- 12: short model files ---------------------------------------------------
: >"$T/empty.bpm"
case_ "empty .bpm" 1 "empty.bpm: truncated: the file has 0 bytes, less than a model header" $BP info "$T/empty.bpm"
head -c 5 "$T/iris.bpm" >"$T/five.bpm"
case_ "5-byte .bpm" 1 "five.bpm: truncated: the file has 5 bytes" $BP eval "$T/five.bpm" data/iris.csv
head -c 3 "$T/iris.bpm" >"$T/three.net"
case_ "3 model bytes named .net" 1 "three.net: truncated: the file has 3 bytes" $BP info "$T/three.net"
head -c 7 "$T/xor.bpc" >"$T/seven.bpc"
case_ "7-byte checkpoint" 1 "seven.bpc: truncated" $BP train data/xor.csv --resume "$T/seven.bpc" -o "$T/m.bpm"

# ---- 13: IDX images without labels ----------------------------------------
printf '\0\0\010\003\0\0\0\003\0\0\0\002\0\0\0\002abcdefghijkl' >"$T/images-idx3-ubyte"
case_ "IDX without --labels (train)" 2 "has no targets: IDX images need their labels file, given with --labels FILE" \
    $BP $TR "$T/images-idx3-ubyte" -o "$T/m.bpm"
case_ "IDX without --labels (eval)" 2 "--labels FILE" $BP eval "$T/iris.bpm" "$T/images-idx3-ubyte"

# ---- 15: --resume and options it would ignore ----------------------------
case_ "resume refuses --hidden, --lr, --optimizer, --net" 2 "cannot change --net, --hidden, --optimizer, --lr" \
    $BP train data/xor.csv --resume "$T/xor.bpc" --hidden 8 --lr 0.5 --optimizer sgd --net "$T/dup.net" -o "$T/m.bpm"
$BP train data/xor.csv --resume "$T/xor.bpc" --epochs 3 --threads 2 -o "$T/m.bpm" >"$T/out" 2>"$T/err"
if [ $? -eq 0 ] && grep -qF "resuming at epoch 1: --epochs 3 replaces the checkpoint's 1" "$T/err" &&
    grep -qF "resuming with the checkpoint's 1 threads, not --threads 2" "$T/err" &&
    $BP info "$T/m.bpm" | grep -q "^epochs: 3$"; then
    pass=$((pass + 1))
else
    bad "resume --epochs 3: not applied or not said"; cat "$T/err"
fi

# ---- 16: softmax on one unit ----------------------------------------------
printf 'x,y\n1,0.5\n2,0.7\n3,0.1\n' >"$T/reg.csv"
case_ "CLI softmax on 1 output" 2 "softmax on a single unit always outputs 1" \
    $BP $TR "$T/reg.csv" --val 0 --out-act softmax -o "$T/m.bpm"
printf 'backprop-net 1\ninputs 2\nlayer 1 softmax\ninit xavier\n' >"$T/soft1.net"
case_ ".net softmax on 1 unit" 1 "soft1.net:3: softmax on a single unit" $BP info "$T/soft1.net"

# ---- 17: BACKPROP_ISA=bogus warns once ------------------------------------
BACKPROP_ISA=bogus $BP $TR data/xor.csv -o "$T/m.bpm" >"$T/out" 2>"$T/err"
if [ $? -eq 0 ] && [ "$(grep -c "BACKPROP_ISA=bogus is not avx512, avx2 or portable" "$T/err")" -eq 1 ]; then
    pass=$((pass + 1))
else
    bad "BACKPROP_ISA=bogus: no single warning"; cat "$T/err"
fi
BACKPROP_ISA=portable $BP $TR data/xor.csv -o "$T/m.bpm" >"$T/out" 2>"$T/err"
if [ $? -eq 0 ] && ! grep -q BACKPROP_ISA "$T/err"; then pass=$((pass + 1)); else bad "BACKPROP_ISA=portable warned"; fi

# ---- 14: gradcheck: relative error with a floor, a sample for big nets ------
printf 'backprop-net 1\ninputs 784\nlayer 8 sigmoid\nlayer 10 sigmoid\ninit xavier 1\n' >"$T/g8.net"
$BP gradcheck "$T/g8.net" --sample 0 >"$T/out" 2>"$T/err"
if [ $? -eq 0 ] && grep -q "6370 params  double .* ok$" "$T/out"; then
    pass=$((pass + 1))
else
    bad "gradcheck 784-8-10 sigmoid: correct gradients failed"; cat "$T/out" "$T/err"
fi
printf 'backprop-net 1\ninputs 784\nlayer 64 sigmoid\nlayer 10 softmax\nloss xent\ninit xavier 1\n' >"$T/g64.net"
timeout 60 $BP gradcheck "$T/g64.net" >"$T/out" 2>"$T/err"
if [ $? -eq 0 ] && grep -q "2000 of 50890 params (a sample, seed 1) .* ok$" "$T/out"; then
    pass=$((pass + 1))
else
    bad "gradcheck 784-64-10: not checked on a sample"; cat "$T/out" "$T/err"
fi

echo "cli_loaders: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
