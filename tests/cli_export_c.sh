#!/bin/sh
# Standalone C export (issue 10): the generated file and header compile with
# `cc -std=c99 -Wall -Werror` (and -Wextra -pedantic), and predict() gives the
# same bits as `BACKPROP_ISA=portable backprop predict` on every row of iris
# (models with every activation, with and without scaling and biases) and on
# a Fashion-MNIST test subset (784 inputs: the GEMM's K slices).
TEST=cli_export_c; . "$(dirname "$0")/lib.sh"
CC=${CC:-cc}
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "cli_export_c: 0 passed, 0 failed (no C compiler: skipped)"
    exit 0
fi

# A driver: each CSV row's first MODEL_INPUTS fields (read as the library's
# CSV reader does: strtod, then float) → predict → %.9g, which reads back to
# the same float, so equal text means equal bits.
cat >"$T/main.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
#include "model.h"
int main(void)
{
    static char line[1 << 16];
    float x[MODEL_INPUTS], y[MODEL_OUTPUTS];
    int first = 1, i;
    while (fgets(line, sizeof line, stdin)) {
        char *p = line, *e;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        for (i = 0; i < MODEL_INPUTS; i++) {
            double v = strtod(p, &e);
            if (e == p)
                break;
            x[i] = (float)v;
            p = *e == ',' ? e + 1 : e;
        }
        if (i < MODEL_INPUTS) {
            if (first) { first = 0; continue; } /* the header */
            return 1;
        }
        first = 0;
        predict(x, y);
        for (i = 0; i < MODEL_OUTPUTS; i++)
            printf(i ? ",%.9g" : "%.9g", y[i]);
        printf("\n");
    }
    return 0;
}
CEOF

# same_bits NAME MODEL DATA [predict options...]
same_bits() {
    name=$1; model=$2; data=$3; shift 3
    rm -f "$T/model.c" "$T/model.h"
    if ! "$BP" export "$model" --format c -o "$T/model.c" 2>"$T/err"; then
        bad "$name: export"; cat "$T/err"; return
    fi
    [ -f "$T/model.h" ] && ok || bad "$name: no header beside model.c"
    if ! "$CC" -std=c99 -Wall -Wextra -pedantic -Werror -O2 -ffp-contract=off -I"$T" \
            -o "$T/run" "$T/model.c" "$T/main.c" -lm 2>"$T/err"; then
        bad "$name: the generated C does not compile"; cat "$T/err"; return
    fi
    ok
    "$T/run" <"$data" >"$T/c.csv" || { bad "$name: driver failed"; return; }
    BACKPROP_ISA=portable "$BP" predict "$model" "$data" --precision 9 "$@" >"$T/p.csv" 2>"$T/err" ||
        { bad "$name: predict"; cat "$T/err"; return; }
    n=$(head -n 1 "$T/c.csv" | tr ',' '\n' | wc -l)
    tail -n +2 "$T/p.csv" | awk -F, -v n="$n" '{ s = ""; for (i = NF - n + 1; i <= NF; i++) s = s (s == "" ? "" : ",") $i; print s }' >"$T/p2.csv"
    if [ -s "$T/c.csv" ] && cmp -s "$T/c.csv" "$T/p2.csv"; then
        ok; echo "cli_export_c: $name: $(wc -l <"$T/c.csv") rows, the same bits"
    else
        bad "$name: outputs differ from BACKPROP_ISA=portable predict"; diff "$T/c.csv" "$T/p2.csv" | head -5
    fi
}

"$BP" train data/iris.csv --epochs 5 -q -o "$T/iris.bpm" >/dev/null 2>&1
same_bits "iris relu/softmax, scaled" "$T/iris.bpm" data/iris.csv
# The header names the features and classes (C string literals, escaped).
cat >"$T/names.c" <<'CEOF'
#include <stdio.h>
#include "model.h"
int main(void)
{
    static const char *const f[] = MODEL_FEATURE_NAMES, *const c[] = MODEL_CLASS_NAMES;
    printf("%s %s %s\n", f[0], f[MODEL_INPUTS - 1], c[2]);
    return 0;
}
CEOF
if "$CC" -std=c99 -Wall -Werror -I"$T" -o "$T/names" "$T/names.c" 2>"$T/err" &&
        [ "$("$T/names")" = "sepal_length petal_width virginica" ]; then
    ok
else
    bad "MODEL_FEATURE_NAMES / MODEL_CLASS_NAMES"; cat "$T/err"
fi
"$BP" train data/iris.csv --epochs 3 --hidden 6,5,4 --act leaky-relu --out-act sigmoid --loss mse \
    --scale none -q -o "$T/leaky.bpm" >/dev/null 2>&1
same_bits "iris leaky-relu x3/sigmoid, unscaled" "$T/leaky.bpm" data/iris.csv
"$BP" train data/iris.csv --epochs 3 --hidden 5 --act tanh --no-bias -q -o "$T/tanh.bpm" >/dev/null 2>&1
same_bits "iris tanh, no bias" "$T/tanh.bpm" data/iris.csv
"$BP" train data/xor.csv --task regression --epochs 3 --hidden 7 --act sigmoid -q \
    -o "$T/reg.bpm" >/dev/null 2>&1
same_bits "xor regression, sigmoid/linear" "$T/reg.bpm" data/xor.csv --task regression

FM=${BACKPROP_DATA:-/usr/share/datasets}/fashion-mnist
if [ -f "$FM/t10k-images-idx3-ubyte.gz" ] && [ -x "$PY" ]; then
    "$PY" tests/onnx_tool.py fashion "$FM" "$T/ftrain.csv" "$T/ftest.csv" 2000 300
    "$BP" train "$T/ftrain.csv" --task classification --hidden 64,32 --epochs 1 -q \
        -o "$T/fm.bpm" >/dev/null 2>&1
    same_bits "Fashion-MNIST 784-64-32-10" "$T/fm.bpm" "$T/ftest.csv" --task classification
else
    echo "cli_export_c: no Fashion-MNIST: its check skipped"
fi
echo "cli_export_c: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
