#!/bin/sh
# Bad input through the CLI, one case a line: every case must exit with the
# expected status (1 runtime failure, 2 usage error), print the expected
# message fragment (file, line, field) on stderr, leave no partial or
# temporary file behind, and leave an existing model byte-identical.  A few
# cases check that harmless variations (BOM, CRLF) are accepted.
# Last: a diverging run stops with the trainer's message and a checkpoint that
# loads and resumes.
TEST=cli_bad_input; . "$(dirname "$0")/lib.sh"

# ---- fixtures --------------------------------------------------------------
D="$T/data"
mkdir -p "$D" "$T/w"
: >"$D/empty.csv"
printf 'a,b,y\n' >"$D/header.csv"
printf 'a,b,y\n1,2,0\n3,4\n' >"$D/ragged.csv"
printf 'a,b,y\n1,2,0\n1,oops,1\n' >"$D/text.csv"
printf 'a,b,y\n1,2,0\n1,nan,1\n' >"$D/nan.csv"
printf 'a,b,y\n1,2,0.5\n1,2,inf\n' >"$D/inf.csv"
printf 'a,b,y\n1,2,0.5\n1,1e999,1\n' >"$D/range.csv"
printf 'a,b,y\n1,2,0\n"3,4,1\n' >"$D/quote.csv"
printf 'just one column\n1\n' >"$D/onecol.csv"
printf 'a,b,y\n1,2,\0\n' >"$D/nul.csv"
printf '\357\273\277x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n' >"$D/bom.csv"
printf 'x1,x2,y\r\n0,0,0\r\n0,1,1\r\n1,0,1\r\n1,1,0\r\n' >"$D/crlf.csv"
printf '2 2 1\n0 0\n0\n0 x\n1\n' >"$D/bad.data"
printf '3 2 1\n0 0\n0\n' >"$D/short.data"
# IDX: a header claiming 2^30 + 1 one-byte images (1 GiB) with 4 bytes of data,
# one claiming more than 2^31 elements, and a gzip file cut short.
printf '\0\0\010\002\100\0\0\001\0\0\0\001abcd' >"$D/huge-images.idx"
printf '\0\0\010\003\100\0\0\0\0\0\0\034\0\0\0\034' >"$D/over-images.idx"
printf '\0\0\010\002\0\0\0\003\0\0\0\002abcdef' | gzip -c >"$D/full.idx.gz"
head -c $(($(wc -c <"$D/full.idx.gz") - 6)) "$D/full.idx.gz" >"$D/cut-images.idx.gz"
printf '\0\0\010\001\0\0\0\003\0\1\2' >"$D/labels.idx"
printf '\0\0\010\001\0\0\0\002\0\1' >"$D/labels2.idx"
# .net files with one weight missing and one too many.
printf 'backprop-net 1\ninputs 2\nlayer 1 sigmoid nobias\nweights\n0.5\n' >"$D/missing.net"
printf 'backprop-net 1\ninputs 2\nlayer 1 sigmoid nobias\nweights\n0.5 0.25 0.125\n' >"$D/extra.net"
printf 'backprop-net 1\ninputs 2\nlayer 1 sigmoid nobias\nweights\n0.5 0.25\n' >"$D/ok.net"

# A model to protect: every failing command that would write it must leave it as is.
if ! "$BP" train data/iris.csv --hidden 4 --epochs 2 --threads 1 --val 0 -q -o "$T/keep.bpm" \
    >"$T/out" 2>&1; then
    echo "cli_bad_input: cannot train the reference model"; cat "$T/out"; exit 1
fi
cp "$T/keep.bpm" "$T/keep.orig"
cp "$T/keep.bpm" "$T/keep2.bpm"
"$BP" train data/iris.csv --hidden 4 --epochs 1 --threads 1 --val 0 -q -o "$T/notckpt.bpm" \
    >/dev/null 2>&1
M="$T/keep.bpm"
size=$(wc -c <"$M")
# Damaged copies of it.
{ printf 'X'; tail -c +2 "$M"; } >"$D/magic.bpm"
{ head -c 8 "$M"; printf '\011\0\0\0'; tail -c +13 "$M"; } >"$D/future.bpm"
{ head -c 100 "$M"; printf '\377'; tail -c +102 "$M"; } >"$D/crc.bpm"
head -c $((size / 2)) "$M" >"$D/short.bpm"

# ---- the table ---------------------------------------------------------------
# case NAME EXIT 'stderr fragment' COMMAND...
#   Outputs go to $T/w (checked empty afterwards) or to $M (checked unchanged).
case_() {
    name=$1 want=$2 frag=$3
    shift 3
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    ok=1
    if [ "$rc" -ne "$want" ]; then
        bad "$name: exit $rc, expected $want"; ok=0
    fi
    if [ -n "$frag" ] && ! grep -qF -- "$frag" "$T/err"; then
        bad "$name: stderr lacks '$frag'"; ok=0
    fi
    if [ "$want" -ne 0 ] && [ -n "$(ls -A "$T/w")" ]; then
        bad "$name: left files behind: $(ls -A "$T/w")"; ok=0
    fi
    if ! cmp -s "$M" "$T/keep.orig"; then
        bad "$name: $M changed"; ok=0; cp "$T/keep.orig" "$M"
    fi
    if ls "$T" "$D" | grep -q '\.tmp\.'; then
        bad "$name: temporary file left behind"; ok=0
    fi
    if [ "$ok" -eq 1 ]; then pass=$((pass + 1)); else sed 's/^/    /' "$T/err"; fi
    rm -rf "$T/w" && mkdir -p "$T/w"
}
W="$T/w"
TR="train --epochs 1 --threads 1 -q"

# Data files (CSV)
case_ "empty csv" 1 "empty.csv: no data: the file is empty" $BP $TR "$D/empty.csv" -o "$M"
case_ "header only" 1 "header.csv:1: has a header line but no data rows" $BP $TR "$D/header.csv" -o "$M"
case_ "ragged row" 1 "ragged.csv:3: row has 2 fields, expected 3" $BP $TR "$D/ragged.csv" -o "$M"
case_ "non-numeric field" 1 'text.csv:3:2: expected a number, found "oops"' $BP $TR "$D/text.csv" -o "$M"
case_ "NaN feature" 1 "nan.csv:3:2: expected a number, found NaN" $BP $TR "$D/nan.csv" -o "$M"
case_ "Inf target" 1 "inf.csv:3:3: expected a number, found an infinite value" $BP $TR "$D/inf.csv" --task regression -o "$M"
case_ "out of float range" 1 "range.csv:3:2: expected a number, found \"1e999\", outside the float32 range" $BP $TR "$D/range.csv" -o "$M"
case_ "unclosed quote" 1 "quote.csv:3:1: quoted field is not closed" $BP $TR "$D/quote.csv" -o "$M"
case_ "one column" 1 "onecol.csv:1: found 1 column" $BP $TR "$D/onecol.csv" -o "$M"
case_ "NUL byte" 1 "nul.csv:2: contains a NUL byte" $BP $TR "$D/nul.csv" -o "$M"
case_ "missing data file" 1 "nothere.csv: cannot open: No such file or directory" $BP $TR "$D/nothere.csv" -o "$M"
case_ "unknown target column" 2 'no column named "nosuch" for the target' $BP $TR data/iris.csv --target nosuch -o "$M"
case_ "BOM accepted" 0 "" $BP $TR "$D/bom.csv" --val 0 -o "$W/bom.bpm"
case_ "CRLF accepted" 0 "" $BP $TR "$D/crlf.csv" --val 0 -o "$W/crlf.bpm"
# FANN and IDX
case_ "FANN bad number" 1 'bad.data:4:3: expected a number (row 2, input 2 of 2), found "x"' $BP $TR "$D/bad.data" -o "$M"
case_ "FANN header too long" 1 "short.data:1: the header announces 3 rows" $BP $TR "$D/short.data" -o "$M"
case_ "IDX claims 1 GiB" 1 "huge-images.idx: truncated: the header claims 1073741825 elements" $BP $TR "$D/huge-images.idx" -o "$M"
case_ "IDX over 2^31 elements" 1 "over-images.idx: IDX header claims more than 2^31 elements" $BP $TR "$D/over-images.idx" -o "$M"
case_ "truncated gzip" 1 "cut-images.idx.gz: truncated or corrupt" $BP $TR "$D/cut-images.idx.gz" --labels "$D/labels.idx" -o "$M"
case_ "IDX label count" 1 "labels2.idx has 2 labels but" $BP $TR "$D/full.idx.gz" --labels "$D/labels2.idx" -o "$M"
# Shapes
case_ "fewer outputs than classes" 2 "--layers 4,8,2 does not fit the data: it has 4 inputs and 3 outputs (one per class)" $BP $TR data/iris.csv --layers 4,8,2 -o "$M"
case_ "eval missing column" 1 'xor.csv: no column "sepal_length" (input 1 of the model'"'"'s 4' $BP eval "$M" data/xor.csv
case_ "predict missing column" 1 'xor.csv: no column "sepal_length"' $BP predict "$M" data/xor.csv -o "$W/p.csv"
printf '0,0,0\n0,1,1\n' >"$D/nohead.csv"
case_ "eval shape mismatch" 1 "nohead.csv has 3 columns but the model takes 4 inputs" $BP eval "$M" "$D/nohead.csv"
case_ "net does not fit data" 1 "iris.csv has 4 inputs and 3 outputs per row but $D/ok.net takes 2 and gives 1" $BP $TR data/iris.csv --net "$D/ok.net" -o "$M"
# Model files
case_ "model wrong magic" 1 "magic.bpm: not a backprop model file (bad magic)" $BP info "$D/magic.bpm"
case_ "model future version" 1 "future.bpm: model format version 9 is newer than this build reads (2)" $BP info "$D/future.bpm"
case_ "model bad CRC" 1 "crc.bpm: checksum mismatch: file is corrupt" $BP eval "$D/crc.bpm" data/iris.csv
case_ "model cut short" 1 "short.bpm: truncated: the file has $((size / 2)) bytes, its header says $size" $BP predict "$D/short.bpm" data/iris.csv
case_ "model missing" 1 "nomodel.bpm: cannot open: No such file or directory" $BP predict "$T/nomodel.bpm" data/iris.csv -o "$W/p.csv"
case_ "resume from a plain model" 1 "not a checkpoint" $BP $TR data/iris.csv --resume "$T/notckpt.bpm" -o "$M"
case_ ".net missing weight" 1 "missing.net:5: layer 1, neuron 1: expected 2 weights (one per input to the layer), found 1" $BP info "$D/missing.net"
case_ ".net extra weight" 1 "extra.net:5: layer 1, neuron 1: expected 2 weights (one per input to the layer), found 3" $BP export "$D/extra.net" -o "$W/x.net"
# Outputs that cannot be written
case_ "unwritable -o" 1 "/nonexistent/dir/m.bpm: cannot write" $BP $TR data/iris.csv -o /nonexistent/dir/m.bpm
case_ "output is a directory" 1 "cannot write: it is a directory" $BP $TR data/iris.csv -o "$W"
case_ "unwritable checkpoint" 1 "checkpoint /nonexistent/c.bpc: cannot write" $BP $TR data/iris.csv --checkpoint /nonexistent/c.bpc -o "$M"
case_ "export unwritable" 1 "/nonexistent/dir/x.net: cannot write" $BP export "$M" -o /nonexistent/dir/x.net
case_ "predict unwritable" 1 "/nonexistent/p.csv: cannot write" $BP predict "$M" data/iris.csv -o /nonexistent/p.csv
case_ "predict to a full device" 1 "standard output: write failed" sh -c "exec \"$BP\" predict \"$M\" data/iris.csv >/dev/full"
# Disk full: a file-size limit makes write() fail with EFBIG (SIGXFSZ ignored).
case_ "disk full on save" 1 "keep.bpm: write failed: File too large (previous file left unchanged)" \
    sh -c "trap '' XFSZ; ulimit -f 1; exec \"$BP\" $TR data/iris.csv --hidden 64 --val 0 -o \"$M\""
case_ "disk full on checkpoint" 1 "c.bpc: write failed: File too large" \
    sh -c "trap '' XFSZ; ulimit -f 1; exec \"$BP\" $TR data/iris.csv --hidden 64 --checkpoint \"$W/c.bpc\" -o \"$M\""
case_ "disk full on predict" 1 "keep2.bpm: write failed: File too large (previous file left unchanged)" \
    sh -c "trap '' XFSZ; ulimit -f 1; exec \"$BP\" predict \"$M\" data/iris.csv -o \"$T/keep2.bpm\""
if cmp -s "$T/keep2.bpm" "$T/keep.orig"; then pass=$((pass + 1)); else bad "predict over an existing file changed it"; fi
# Usage errors
case_ "unknown option" 2 "unknown option '--frobnicate'" $BP $TR data/iris.csv --frobnicate -o "$M"
case_ "missing option value" 2 "option '--lr' needs a value" $BP $TR data/iris.csv -o "$M" --lr
case_ "bad --lr" 2 "--lr: expected a number, got 'fast'" $BP $TR data/iris.csv --lr fast -o "$M"
case_ "NaN --lr" 2 "--lr: expected a number, got 'nan'" $BP $TR data/iris.csv --lr nan -o "$M"
case_ "zero --lr" 2 "learning rate must be a positive number" $BP $TR data/iris.csv --lr 0 -o "$M"
case_ "bad --epochs" 2 "--epochs: expected a whole number in 1..1000000, got '-3'" $BP train data/iris.csv --epochs -3 -o "$M"
case_ "fractional --epochs" 2 "--epochs: expected a whole number in 1..1000000, got '2.5'" $BP train data/iris.csv --epochs 2.5 -o "$M"
case_ "bad --momentum" 2 "momentum must be in [0, 1)" $BP $TR data/iris.csv --optimizer momentum --momentum 1.5 -o "$M"
case_ "bad --val" 2 "--val must be in [0, 1)" $BP $TR data/iris.csv --val 1.5 -o "$M"
case_ "bad --threads" 2 "--threads: expected a whole number in 1..256, got '0'" $BP $TR data/iris.csv --threads 0 -o "$M"
case_ "unknown activation" 2 'unknown activation "swish"' $BP $TR data/iris.csv --act swish -o "$M"
case_ "unknown optimizer" 2 'unknown optimizer "adagrad"' $BP $TR data/iris.csv --optimizer adagrad -o "$M"
case_ "unknown loss" 2 'unknown loss "hinge"' $BP $TR data/iris.csv --loss hinge -o "$M"
case_ "unknown --task" 2 "--task: expected classification or regression, got 'clustering'" $BP $TR data/iris.csv --task clustering -o "$M"
case_ "bad --layers" 2 "--layers: expected sizes like 784,128,10" $BP $TR data/iris.csv --layers 4,x,3 -o "$M"
case_ "no training data" 2 "no training data" $BP train -o "$M"
case_ "eval without data" 2 "expected more arguments" $BP eval "$M"
case_ "unknown command" 2 "unknown command 'fit'" $BP fit data/iris.csv

# ---- divergence ---------------------------------------------------------------
# Plain SGD, linear hidden units, unscaled digits and a learning rate warming
# up towards 1: a few good epochs, then NaN/Inf.
DIV="data/digits.csv --task classification --scale none --optimizer sgd --act linear --lr 1 --warmup 50 --epochs 8 --seed 1 --threads 1 -q"
$BP train $DIV --checkpoint "$T/ck.bpc" -o "$M" >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "training diverged: NaN or Inf at epoch [2-9], batch [0-9]*, first in layer [0-9]" "$T/err" &&
    grep -qF "likely cause: the learning rate may be too high" "$T/err" &&
    grep -qF "the last good checkpoint is $T/ck.bpc (epoch" "$T/err"; then
    pass=$((pass + 1))
else
    bad "divergence: exit $rc, message:"; cat "$T/err"
fi
cmp -s "$M" "$T/keep.orig" && pass=$((pass + 1)) || bad "divergence: $M changed"
good=$(sed -n 's/.*the last good checkpoint is .* (epoch \([0-9]*\)).*/\1/p' "$T/err")
if "$BP" info "$T/ck.bpc" >"$T/out" 2>&1 && grep -q "^epochs: $good\$" "$T/out"; then
    pass=$((pass + 1))
else
    bad "divergence: checkpoint does not load (or is not epoch '$good')"; cat "$T/out"
fi
# Resuming reaches the same point of divergence (bit-identical continuation)...
first=$(grep "training diverged" "$T/err")
$BP train data/digits.csv --task classification --resume "$T/ck.bpc" --threads 1 -q -o "$M" \
    >"$T/out" 2>"$T/err2"
rc=$?
if [ "$rc" -eq 1 ] && [ "$(grep "training diverged" "$T/err2")" = "$first" ] &&
    grep -qF "no new checkpoint was written; $T/ck.bpc is unchanged" "$T/err2"; then
    pass=$((pass + 1))
else
    bad "divergence: resume did not reproduce the divergence (exit $rc)"; cat "$T/err2"
fi
# ...and resumed up to the last good epoch it saves a model that evaluates.
if $BP train data/digits.csv --task classification --resume "$T/ck.bpc" --epochs "$good" --threads 1 \
    -q -o "$T/w/resumed.bpm" >"$T/out" 2>&1 &&
    $BP eval "$T/w/resumed.bpm" data/digits.csv --task classification >"$T/out" 2>&1; then
    pass=$((pass + 1))
else
    bad "divergence: resume to epoch $good failed"; cat "$T/out"
fi

echo "cli_bad_input: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
