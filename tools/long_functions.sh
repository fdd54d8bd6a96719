#!/bin/sh
# Long functions in the C sources: a function should read as one step of
# what its file does, so none may run over MAX lines (100) but the few files
# below; those over WARN lines (80) are listed as candidates for a split.
#
#   sh tools/long_functions.sh                 list functions over 80 lines in src/
#   sh tools/long_functions.sh --check         also fail (exit 1) on one over 100
#                                              outside the allowed files
#   sh tools/long_functions.sh [--check] [--warn N] [--max N] FILE...
#
# A function is counted from the line that starts its signature to its
# closing brace, as ctags counts it.  The sources put a function's braces in
# column 0 (`{` and `}` alone on their lines, signature lines before them),
# which is all this counter relies on, so it needs nothing but awk.
#
# Allowed over MAX: SIMD micro-kernels (their unrolled register blocks read
# best whole).  Keep this list short and explicit; a file leaves it once its
# functions are split.
ALLOWED='
src/kernels/cpu_avx2.c
src/kernels/cpu_avx512.c
'
cd "$(dirname "$0")/.." || exit 1

check=0; warn=80; max=100; files=""
while [ $# -gt 0 ]; do
    case $1 in
    --check) check=1 ;;
    --warn|--max)
        case $2 in ''|*[!0-9]*) echo "$0: $1 takes a whole number" >&2; exit 2 ;; esac
        if [ "$1" = --warn ]; then warn=$2; else max=$2; fi
        shift ;;
    -*) echo "usage: $0 [--check] [--warn N] [--max N] [FILE...]" >&2; exit 2 ;;
    *) files="$files $1" ;;
    esac
    shift
done
# shellcheck disable=SC2086 # file names of src/ have no spaces
if [ -n "$files" ]; then set -- $files; else set -- src/*/*.c; fi

# One line per function over WARN: "file:line name length".
lengths() {
    awk -v warn="$warn" '
    FNR == 1 { sig = 0; body = 0 }
    /^[A-Za-z_]/ && !body { sig = FNR; sigtext = $0 }
    /^\{/ && sig && !body { body = 1; next }
    /^\}[[:space:]]*$/ && body {
        n = FNR - sig + 1
        name = sigtext
        sub(/\(.*/, "", name)
        sub(/.*[^A-Za-z0-9_]/, "", name)
        if (n > warn) printf "%s:%d %s %d\n", FILENAME, sig, name, n
        body = 0; sig = 0
    }' "$@"
}

status=0
out=$(lengths "$@") || exit 1
[ -n "$out" ] || exit 0
echo "$out" | sort -k3 -rn | while read -r where name n; do
    file=${where%%:*}
    note=""
    if [ "$n" -gt "$max" ]; then
        case "$ALLOWED" in
        *"
$file
"*) note=" (over $max, allowed: $file is on the list)" ;;
        *) note=" (over $max)" ;;
        esac
    fi
    echo "$where: $name: $n lines$note"
done
if [ "$check" -eq 1 ]; then
    over=$(echo "$out" | while read -r where name n; do
        file=${where%%:*}
        [ "$n" -gt "$max" ] || continue
        case "$ALLOWED" in *"
$file
"*) continue ;; esac
        echo "$where $name"
    done)
    if [ -n "$over" ]; then
        echo "long_functions: over $max lines outside the allowed files (split them by what they do):" >&2
        echo "$over" | sed 's/^/  /' >&2
        status=1
    fi
fi
exit $status
