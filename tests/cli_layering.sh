#!/bin/sh
# Layering: an #include "…" in src/ never points up the stack
#     kernels/ → nn/ → io/ → explain/ → cli/
# and the CLI sees only the public header and its own.  See docs/layers.md.
# cuda/ (the CUDA backend, a library of its own loaded at run time) sits
# beside nn/: it sees kernels/backend.h only.
#
# The compiler guards part of it: the Makefile builds kernels/ and cli/
# without -Isrc, so an include of another layer there does not compile.  nn/,
# io/ and explain/ need -Isrc (they include "kernels/…", "nn/net_io.h",
# "io/…"), and an include path cannot allow nn/net_io.h while refusing
# nn/nn_internal.h next to it, so for them this check is the guard: it fails
# `make check` and names every include that breaks the rule.
#
#   sh tests/cli_layering.sh            check src/ (prints file:line per violation)
#   sh tests/cli_layering.sh --rules-only DIR   check DIR (a copy of src/) only
#
# The rule table, written once.  Each line: a directory of src/, then what its
# files may include: a directory (trailing /) or one header.  The public
# header backprop.h is allowed everywhere.  nn/net_io.h is the one narrow
# interface of nn/ for io/ and explain/ (nn/nn_internal.h, with the structs,
# is nn/'s own); nn/error.h (bp_error_prefix) and nn/le.h (little-endian
# codecs) expose no struct and serve io/ and explain/ too.
# kernels/act_scalar.h is the one scalar definition of the activations and
# their derivatives, which nn/activation.c exposes (bp_activation_apply).
RULES='
kernels  kernels/
cuda     cuda/ kernels/backend.h
nn       nn/ kernels/backend.h kernels/rng.h kernels/act_scalar.h
io       io/ nn/net_io.h nn/error.h nn/le.h kernels/
explain  explain/ io/ nn/net_io.h nn/error.h nn/le.h kernels/
cli      cli/
'
cd "$(dirname "$0")/.." || exit 1

# violations SRC: prints "file:line: dir/ includes "x" (allowed: …)" per bad include.
violations() {
    src=$1
    echo "$RULES" | while read -r dir allowed; do
        [ -n "$dir" ] || continue
        for f in "$src/$dir"/*.c "$src/$dir"/*.h; do
            [ -f "$f" ] || continue
            grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
            while IFS= read -r hit; do
                line=${hit%%:*}
                name=$(echo "$hit" | sed 's/^[^"]*"\([^"]*\)".*/\1/')
                # Resolve as the compiler would: next to the file, then -Iinclude/-Isrc.
                if [ -f "$src/$dir/$name" ]; then target="$dir/$name"
                elif [ "$name" = backprop.h ]; then continue
                else target=$name; fi
                ok=0
                for a in $allowed; do
                    case $a in
                    */) case $target in "$a"*) ok=1 ;; esac ;;
                    *) [ "$target" = "$a" ] && ok=1 ;;
                    esac
                done
                [ "$ok" -eq 1 ] || echo "${f#"$src"/}:$line: $dir/ includes \"$name\" (allowed: backprop.h $allowed)"
            done
        done
    done
}

pass=0; fail=0
if [ "$1" = --rules-only ]; then
    out=$(violations "$2")
    [ -z "$out" ] || { echo "$out"; exit 1; }
    exit 0
fi

out=$(violations src)
if [ -n "$out" ]; then
    echo "cli_layering: includes that point up the stack:"; echo "$out"; fail=$((fail + 1))
else pass=$((pass + 1)); fi

# kernels/ words no messages: the error functions live in nn/error.c, above it
# (an include cannot catch this: backprop.h declares them for everyone).
calls=$(grep -n 'bp_err[a-z_]*[[:space:]]*(' src/kernels/*.c src/kernels/*.h 2>/dev/null)
if [ -n "$calls" ]; then
    echo "cli_layering: kernels/ calls nn/'s error functions (return a status instead):"
    echo "$calls"; fail=$((fail + 1))
else pass=$((pass + 1)); fi

# Every directory of src/ is in the table (a new one must say where it sits).
for d in src/*/; do
    d=${d#src/}; d=${d%/}
    if ! echo "$RULES" | grep -q "^$d "; then
        echo "cli_layering: src/$d/ is not in the rule table"; fail=$((fail + 1))
    fi
done

# The check itself catches a bad include (else a broken script passes silently).
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/kernels" "$T/cli" "$T/nn"
printf '#include "kernels.h"\n#include "backprop.h"\n' >"$T/kernels/a.c"
: >"$T/kernels/kernels.h"
printf '#include "backprop.h"\n\n#include "nn/nn_internal.h"\n' >"$T/cli/b.c"
: >"$T/nn/nn_internal.h"
bad=$(sh tests/cli_layering.sh --rules-only "$T")
if [ "$bad" = 'cli/b.c:3: cli/ includes "nn/nn_internal.h" (allowed: backprop.h cli/)' ]; then
    pass=$((pass + 1))
else
    echo "cli_layering: self-test expected one violation at cli/b.c:3, got: $bad"; fail=$((fail + 1))
fi

echo "cli_layering: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
