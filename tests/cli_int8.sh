#!/bin/sh
# int8 inference: quantize needs -o and --calib; a .q model says so in info,
# predict and eval run its int8 form, which agrees with the float32 model on
# >= 99% of digits test rows and loses <= 0.5 points of accuracy; the
# portable and AVX2 paths pick the same classes, the VNNI, AVX-VNNI and AVX2
# GEMMs give the same bytes (under the default ISA and BACKPROP_ISA=avx2), and
# so does BACKPROP_AMX=1 (AMX-INT8 where granted; said why not, once); a
# .q model is refused by
# train --resume and a damaged QINT section is refused, naming the file.
TEST=cli_int8; . "$(dirname "$0")/lib.sh"
D=data/digits.csv
head -1 $D >"$T/train.csv"; head -1 $D >"$T/test.csv"
tail -n +2 $D | awk 'NR % 4 != 0' >>"$T/train.csv"
tail -n +2 $D | awk 'NR % 4 == 0' >>"$T/test.csv"
expect_rc 0 "train a digits model" "$BP" train "$T/train.csv" --hidden 64,32 --epochs 15 \
    --threads 1 -o "$T/m.bpm"

expect_rc 2 "quantize without --calib" "$BP" quantize "$T/m.bpm" -o "$T/m.q"
contains "$T/err" "--calib DATA is required" "missing --calib is explained"
contains "$T/err" "$T/m.bpm" "missing --calib names the model"
expect_rc 2 "quantize without -o" "$BP" quantize "$T/m.bpm" --calib "$T/train.csv"
cut -d, -f1-10 "$T/test.csv" >"$T/narrow.csv"
expect_rc 1 "calibration data without the model's columns" "$BP" quantize "$T/m.bpm" \
    -o "$T/m.q" --calib "$T/narrow.csv"
contains "$T/err" "narrow.csv" "bad calibration data is named"
expect_rc 0 "quantize" "$BP" quantize "$T/m.bpm" -o "$T/m.q" --calib "$T/train.csv"

expect_rc 0 "info on the int8 model" "$BP" info "$T/m.q"
contains "$T/out" "quantized: int8" "info says the model is quantized"
expect_rc 0 "info on the float32 model" "$BP" info "$T/m.bpm"
lacks "$T/out" "quantized" "info on a float32 model is unchanged"

expect_rc 0 "predict fp32" "$BP" predict "$T/m.bpm" "$T/test.csv"
cut -d, -f1 "$T/out" >"$T/c32"
expect_rc 0 "predict int8" "$BP" predict "$T/m.q" "$T/test.csv"
cut -d, -f1 "$T/out" >"$T/c8"
if paste -d' ' "$T/c32" "$T/c8" | awk 'NR > 1 { n++; s += $1 == $2 }
    END { printf "agree %d of %d\n", s, n; exit !(s * 100 >= n * 99) }' >"$T/agree"
then ok; else bad "int8 top class agrees with fp32 on < 99%: $(cat "$T/agree")"; fi
expect_rc 0 "predict int8, portable path" env BACKPROP_ISA=portable "$BP" predict "$T/m.q" \
    "$T/test.csv"
cut -d, -f1 "$T/out" >"$T/c8p"
if cmp -s "$T/c8" "$T/c8p"; then ok; else bad "portable and default int8 paths differ"; fi
# BACKPROP_INT8=vnni (the default: the VPDPBUSD GEMM where the CPU has
# AVX512-VNNI or AVX-VNNI), =avxvnni (the 256-bit one at most) and =avx2 (the
# AVX2 GEMM all the same), under the default ISA and BACKPROP_ISA=avx2 (where
# a CPU with AVX-VNNI runs it by default): the same integers, so the same
# output, byte for byte; an unknown value warns and is ignored.
# Each ISA's own default is the reference (float32 steps, e.g. a batch-1
# gemv, may round differently between CPU paths; make check-isa runs this
# file under each BACKPROP_ISA, and "" here is the automatic choice).
for isa in "" avx2; do
    env BACKPROP_ISA=$isa "$BP" predict "$T/m.q" "$T/test.csv" >"$T/p8" 2>/dev/null
    for v in vnni avxvnni avx2; do
        expect_rc 0 "predict int8, BACKPROP_ISA=$isa BACKPROP_INT8=$v" env BACKPROP_ISA=$isa \
            BACKPROP_INT8=$v "$BP" predict "$T/m.q" "$T/test.csv"
        if cmp -s "$T/p8" "$T/out"; then ok
        else bad "BACKPROP_ISA=$isa BACKPROP_INT8=$v changed int8 predictions"; fi
    done
done
env BACKPROP_ISA= "$BP" predict "$T/m.q" "$T/test.csv" >"$T/p8" 2>/dev/null
expect_rc 0 "predict int8, BACKPROP_INT8=bogus" env BACKPROP_ISA= BACKPROP_INT8=bogus "$BP" predict "$T/m.q" \
    "$T/test.csv"
contains "$T/err" "BACKPROP_INT8=bogus is not vnni, avxvnni or avx2; ignored" \
    "unknown BACKPROP_INT8 warns"
if cmp -s "$T/p8" "$T/out"; then ok; else bad "BACKPROP_INT8=bogus changed int8 predictions"; fi

# BACKPROP_AMX=1 (the opt-in AMX-INT8 GEMM): the same integers, so the same
# predictions, whether it runs or (no AMX-INT8 here) the usual GEMM does, and
# then why once on stderr.
expect_rc 0 "predict int8, BACKPROP_AMX=1" env BACKPROP_ISA= BACKPROP_AMX=1 "$BP" predict \
    "$T/m.q" "$T/test.csv"
if cmp -s "$T/p8" "$T/out"; then ok; else bad "BACKPROP_AMX=1 changed int8 predictions"; fi
if ! grep -qw amx_int8 /proc/cpuinfo 2>/dev/null || ! grep -qw amx_tile /proc/cpuinfo; then
    contains "$T/err" "BACKPROP_AMX=1: this CPU has no AMX-INT8" "why AMX is not used"
    if [ "$(grep -c 'BACKPROP_AMX=1' "$T/err")" -eq 1 ]; then ok
    else bad "the AMX-INT8 message is not said exactly once"; fi
fi

acc() { sed -n 's/.*accuracy \([0-9.]*\).*/\1/p' "$T/out" | head -1; }
expect_rc 0 "eval fp32" "$BP" eval "$T/m.bpm" "$T/test.csv"; a32=$(acc)
expect_rc 0 "eval int8" "$BP" eval "$T/m.q" "$T/test.csv"; a8=$(acc)
contains "$T/err" "running its int8 form" "eval says it runs int8"
if awk -v a="$a32" -v b="$a8" 'BEGIN { exit !(a != "" && b != "" && b >= a - 0.005) }'
then ok; else bad "int8 accuracy $a8 vs fp32 $a32: more than 0.5 points lost"; fi

expect_rc 1 "train --resume an int8 model" "$BP" train "$T/train.csv" --resume "$T/m.q" \
    -o "$T/x.bpm"
contains "$T/err" "$T/m.q: an int8 (quantized) model, not a checkpoint" "resume refusal"

# A weight of -128 in QINT, with the checksum made right again.
"$PY" - "$T/m.q" "$T/bad.q" <<'PYEOF'
import sys, zlib
b = bytearray(open(sys.argv[1], "rb").read())
i = b.index(b"QINT", 20) + 16
b[i + 8 + 16 + 4 * 64 + 2] = 0x80  # layer 1, neuron 1, input 3
b[-4:] = zlib.crc32(bytes(b[:-4])).to_bytes(4, "little")
open(sys.argv[2], "wb").write(b)
PYEOF
expect_rc 1 "predict with a damaged QINT" "$BP" predict "$T/bad.q" "$T/test.csv"
contains "$T/err" "bad.q: section QINT: layer 1: weight 3 of neuron 1 is -128" \
    "damaged section named with the file"

echo "cli_int8: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
