#!/bin/sh
# train --precision bf16 (docs/precision.md): refused with a clear message
# and no file written where the CPU has no AVX512-BF16; run on any CPU with
# BACKPROP_BF16=emulate, giving a float32 model that evaluates, differs from
# the fp32 one, does not depend on the thread count, is the native model
# where the CPU has AVX512-BF16, and says bf16 in info;
# kept by checkpoints, so not changeable on --resume.
TEST=cli_bf16; . "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.." || exit 1
run() { "$BP" train data/digits.csv --hidden 32 --batch 16 --epochs 3 --seed 5 -q "$@"; }
native=0
grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null && grep -qw avx512bw /proc/cpuinfo && native=1

expect_rc 2 "an unknown precision" run --precision fp16 -o "$T/x.bpm"
contains "$T/err" 'unknown precision "fp16" (choose fp32 or bf16)' "the choices are named"

if [ "$native" = 0 ] || [ "${BACKPROP_ISA:-}" = avx2 ] || [ "${BACKPROP_ISA:-}" = portable ]; then
    expect_rc 1 "bf16 without AVX512-BF16" run --precision bf16 -o "$T/x.bpm"
    contains "$T/err" "precision bf16 needs a CPU with AVX512-BF16" "why it is refused"
    contains "$T/err" "BACKPROP_BF16=emulate" "what to do instead"
    [ -e "$T/x.bpm" ] && bad "a refused bf16 run wrote a model" || ok
else
    expect_rc 0 "bf16 on AVX512-BF16" run --precision bf16 -o "$T/native.bpm"
    # AMX is opt-in; without AMX the opt-in says why once and changes nothing.
    if ! grep -qw amx_bf16 /proc/cpuinfo; then
        export BACKPROP_AMX=1
        expect_rc 0 "BACKPROP_AMX=1 without AMX" run --precision bf16 -o "$T/amx.bpm"
        contains "$T/err" "BACKPROP_AMX=1: this CPU has no AMX-BF16" "why AMX is not used"
        cmp -s "$T/native.bpm" "$T/amx.bpm" && ok || bad "BACKPROP_AMX=1 without AMX changed the model"
    fi
    export BACKPROP_AMX=yes
    expect_rc 0 "BACKPROP_AMX=yes" run --precision bf16 -o "$T/amx.bpm"
    contains "$T/err" "BACKPROP_AMX is neither 1 nor 0" "an unknown value is said"
    unset BACKPROP_AMX
fi

export BACKPROP_BF16=emulate
expect_rc 0 "bf16, emulated, 1 thread" run --precision bf16 --threads 1 -o "$T/bf1.bpm"
expect_rc 0 "bf16, emulated, 2 threads" run --precision bf16 --threads 2 -o "$T/bf2.bpm"
cmp -s "$T/bf1.bpm" "$T/bf2.bpm" && ok || bad "the thread count changed a bf16 model"
if [ -e "$T/native.bpm" ]; then
    # The emulation adds the same products in VDPBF16PS's order, so away
    # from FLT_MIN (these sums never get there) it trains to the same bits.
    cmp -s "$T/native.bpm" "$T/bf1.bpm" && ok || bad "native and emulated bf16 trained different models"
fi
expect_rc 0 "fp32" run --threads 1 -o "$T/fp.bpm"
cmp -s "$T/bf1.bpm" "$T/fp.bpm" && bad "bf16 gave the fp32 model" || ok
"$BP" info "$T/bf1.bpm" >"$T/info" 2>&1 && ok || bad "info on a bf16 model"
contains "$T/info" "bf16" "info says the model was trained in bf16"
"$BP" info "$T/fp.bpm" >"$T/info" 2>&1
lacks "$T/info" "bf16" "an fp32 model says nothing of bf16"
# Both learn: accuracy within a few points of each other.
"$BP" eval "$T/bf1.bpm" data/digits.csv >"$T/bf.txt" 2>&1 && ok || bad "eval of a bf16 model"
"$BP" eval "$T/fp.bpm" data/digits.csv >"$T/fp.txt" 2>&1
acc() { sed -n 's/.*accuracy \([0-9.]*\).*/\1/p' "$1" | head -n 1; }
awk -v b="$(acc "$T/bf.txt")" -v f="$(acc "$T/fp.txt")" \
    'BEGIN { exit !(b > 0.85 && f > 0.85 && b - f < 0.03 && f - b < 0.03) }' && ok ||
    bad "bf16 accuracy $(acc "$T/bf.txt") vs fp32 $(acc "$T/fp.txt")"

# The checkpoint keeps bf16: an interrupted run resumes to the same bits,
# and --precision cannot be changed on --resume.
run --precision bf16 --epochs 1 --checkpoint "$T/ck.bpc" -o "$T/part.bpm" >/dev/null 2>&1
expect_rc 0 "resume a bf16 run" "$BP" train data/digits.csv --resume "$T/ck.bpc" --epochs 3 -q -o "$T/res.bpm"
cmp -s "$T/res.bpm" "$T/bf1.bpm" && ok || bad "a resumed bf16 run differs from an unbroken one"
expect_rc 2 "--resume --precision" "$BP" train data/digits.csv --resume "$T/ck.bpc" --precision fp32 -o "$T/m.bpm"
contains "$T/err" "--precision" "the refused option is named"
unset BACKPROP_BF16
if [ "$native" = 0 ]; then
    expect_rc 1 "resume a bf16 checkpoint without AVX512-BF16" \
        "$BP" train data/digits.csv --resume "$T/ck.bpc" --epochs 3 -q -o "$T/m2.bpm"
    contains "$T/err" "AVX512-BF16" "why it is refused"
fi

echo "$TEST: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
