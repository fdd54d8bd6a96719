#!/bin/sh
# Long functions: no function in src/ runs over 100 lines outside the short
# list of allowed files in tools/long_functions.sh (SIMD micro-kernels), and
# the counter itself counts as ctags does (signature line to closing brace).
TEST=cli_long_functions; . "$(dirname "$0")/lib.sh"
LF="$(dirname "$0")/../tools/long_functions.sh"

expect_rc 0 "src/ has no function over 100 lines outside the allowed files" sh "$LF" --check

# fn NAME BODY-LINES: a function whose signature, braces and body take
# BODY-LINES + 3 lines, in the sources' style (braces alone in column 0).
fn() {
    printf 'static int %s(int a,\n' "$1"
    i=0
    printf '{\n'
    while [ "$i" -lt "$2" ]; do echo "    a += $i;"; i=$((i + 1)); done
    printf '}\n\n'
}
{ printf 'struct s {\n    int a;\n};\n\n'; fn short 96; } >"$T/a.c"
{ fn tiny 1; fn longer 98; } >"$T/b.c"
sed -i 's/^static int \(short\|longer\)(int a,$/&\n               int b)/' "$T/a.c" "$T/b.c"
expect_rc 0 "a 100-line function passes" sh "$LF" --check "$T/a.c"
contains "$T/out" "a.c:5: short: 100 lines" "counted from the signature to the brace"
expect_rc 1 "a 102-line function fails --check" sh "$LF" --check "$T/a.c" --warn 90 "$T/b.c"
contains "$T/err" "b.c:6 longer" "the failure names the file, line and function"
expect_rc 0 "without --check it only lists" sh "$LF" "$T/b.c"
contains "$T/out" "longer: 102 lines (over 100)" "the list marks what is over the limit"
expect_rc 2 "--max needs a number" sh "$LF" --max x

if command -v ctags >/dev/null 2>&1; then # agrees with ctags on the real sources
    for f in src/*/*.c; do
        ctags -x --c-kinds=f --_xformat='%F:%n %N %{end}' -o - "$f" 2>/dev/null
    done | awk '{ split($1, a, ":"); n = $3 - a[2] + 1; if (n > 40) print $1, $2, n }' |
        sort >"$T/ctags"
    sh "$LF" --warn 40 | sed 's/^\([^ ]*\): \([^:]*\): \([0-9]*\) lines.*/\1 \2 \3/' |
        sort >"$T/ours"
    if [ -s "$T/ctags" ] && cmp -s "$T/ctags" "$T/ours"; then ok; else
        bad "counts differ from ctags"; diff "$T/ctags" "$T/ours" | head; fi
fi

echo "$TEST: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
