#!/bin/sh
# The shared library exports exactly the functions declared BP_API in
# include/backprop.h: no internal helper (bpk_*, bp_read_file, …) leaks out,
# and nothing declared is missing.
B=${BUILD:-build}
SO="$B/libbackprop.so"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[ -f "$SO" ] || { echo "cli_symbols: $SO not built"; exit 1; }
# Declared: the name before the first "(" of every BP_API declaration, with
# comments and preprocessor lines dropped (the macro's definition is not one).
perl -0777 -ne 's{/\*.*?\*/}{}gs; s/^[ \t]*#.*$//mg; print "$1\n" while /BP_API[^;{(]*?\b(\w+)\s*\(/g' \
    include/backprop.h | sort -u >"$T/declared"
nm -D --defined-only "$SO" | awk '$2 ~ /^[TtWwDdBbRrVvi]$/ {print $3}' | sed 's/@.*//' |
    grep -Ev '^(_init|_fini|_edata|_end|__bss_start|__(odr_)?asan.*|__ubsan.*|__sanitizer.*)$' |
    sort -u >"$T/exported"
pass=0; fail=0
if [ "$(wc -l <"$T/declared")" -lt 100 ]; then
    echo "cli_symbols: only $(wc -l <"$T/declared") declarations found in the header"; fail=$((fail + 1))
else pass=$((pass + 1)); fi
extra=$(comm -13 "$T/declared" "$T/exported")
missing=$(comm -23 "$T/declared" "$T/exported")
if [ -n "$extra" ]; then
    echo "cli_symbols: exported but not in backprop.h:" $extra; fail=$((fail + 1))
else pass=$((pass + 1)); fi
if [ -n "$missing" ]; then
    echo "cli_symbols: declared BP_API but not exported:" $missing; fail=$((fail + 1))
else pass=$((pass + 1)); fi
# Every function declaration at file scope carries BP_API.
bare=$(grep -nE '^[a-z][a-z_ ]*[ *]bp_[a-z0-9_]+\(' include/backprop.h | grep -v 'BP_API\|static inline')
if [ -n "$bare" ]; then
    echo "cli_symbols: declarations without BP_API: $bare"; fail=$((fail + 1))
else pass=$((pass + 1)); fi
echo "cli_symbols: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
