#!/bin/sh
# train --device: cpu is the default and changes nothing; cuda on a machine
# (or build) that cannot run it is a clear error naming what is missing,
# before any file is written; an unknown name is a usage error.  The GPU's own
# checks are `make check-gpu` (tests/gpu/).
TEST=cli_device; . "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.." || exit 1
run() { "$BP" train data/iris.csv --epochs 3 --seed 5 -q "$@"; }

run -o "$T/default.bpm" >/dev/null 2>&1
expect_rc 0 "--device cpu" run --device cpu -o "$T/cpu.bpm"
cmp -s "$T/default.bpm" "$T/cpu.bpm" && ok || bad "--device cpu changed the model"
lacks "$T/cpu.bpm" "device" "a CPU model names no device"

expect_rc 2 "an unknown device" run --device gpu -o "$T/x.bpm"
contains "$T/err" 'unknown device "gpu" (choose cpu, cuda or cuda:N)' "the choices are named"
expect_rc 2 "cuda:-1" run --device cuda:-1 -o "$T/x.bpm"

# The library missing: said so, whatever the machine has.
BACKPROP_CUDA_LIB="$T/none.so" expect_rc 1 "cuda without its library" run --device cuda:1 -o "$T/x.bpm"
contains "$T/err" "cannot use device cuda:1: the CUDA backend is not built" "which part is missing"
[ -e "$T/x.bpm" ] && bad "a failed --device run wrote a model" || ok

# No GPU here (no nvidia-smi, or it lists none): a clear error, never a crash.
if ! nvidia-smi -L >/dev/null 2>&1; then
    expect_rc 1 "cuda without a GPU" run --device cuda -o "$T/x.bpm"
    contains "$T/err" "cannot use device cuda:0:" "the device is named"
    [ -e "$T/x.bpm" ] && bad "a failed --device run wrote a model" || ok
fi

# A resumed run keeps the checkpoint's set-up: --device is refused there.
run --checkpoint "$T/ck.bpc" -o "$T/m.bpm" >/dev/null 2>&1
expect_rc 2 "--resume --device" "$BP" train data/iris.csv --resume "$T/ck.bpc" --device cpu -o "$T/m.bpm"
contains "$T/err" "--device" "the refused option is named"

echo "$TEST: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
