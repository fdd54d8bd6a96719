#!/bin/sh
# Same bits for any thread count, on every CPU path this machine runs: a fixed
# set of training runs (the kinds tests/cli_same_bits.sh pins under portable:
# batch-1 SGD, minibatch Adam on a wide net, momentum with dropout and
# clipping, full-batch iRPROP−) is made under BACKPROP_ISA=portable, avx2 and
# avx512 with --threads 1, 2 and 3, and the model files of one path must be
# byte-identical across thread counts.  No hashes are recorded: SIMD paths
# may round differently from portable (kernels.h), so only thread counts are
# compared.  A path the CPU lacks is skipped with one line.
TEST=cli_isa_bits; . "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.." || exit 1
skipped=0

runs() { # isa threads: the fixed runs into $T/$isa-$threads-*.bpm
    d="$T/$1-$2"
    for what in article adam momentum rprop; do
        case $what in
        article) set -- --layers 64,128,10 --act sigmoid --out-act sigmoid --loss mse \
            --optimizer sgd --lr 0.1 --batch 1 --epochs 1 --val 0 ;;
        adam) set -- --layers 64,512,256,10 --act relu --optimizer adam --lr 0.001 \
            --batch 128 --epochs 1 --val 0.2 ;;
        momentum) set -- --hidden 16 --optimizer momentum --lr 0.05 --dropout 0.2 --clip 1 \
            --epochs 20 --batch 8 ;;
        rprop) set -- --hidden 32 --optimizer rprop --epochs 5 --val 0 ;;
        esac
        data=data/digits.csv
        [ "$what" = momentum ] && data=data/iris.csv
        "$BP" train "$data" "$@" --threads "$t" -o "$d-$what.bpm" -q >/dev/null 2>"$T/err" ||
            { bad "$isa, $t threads: $what run failed"; cat "$T/err"; }
    done
}

for isa in portable avx2 avx512; do
    if ! sh tests/isa.sh "$isa"; then
        echo "$TEST: skipping $isa (not supported by this CPU)"
        skipped=$((skipped + 1))
        continue
    fi
    for t in 1 2 3; do
        BACKPROP_ISA=$isa runs "$isa" "$t"
    done
    for what in article adam momentum rprop; do
        for t in 2 3; do
            if cmp -s "$T/$isa-1-$what.bpm" "$T/$isa-$t-$what.bpm"; then ok; else
                bad "$isa: $what: the model from $t threads differs from 1 thread"; fi
        done
    done
done
echo "$TEST: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
