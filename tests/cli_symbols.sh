#!/bin/sh
# The shared library exports exactly the functions declared BP_API in
# include/backprop.h: no internal helper (bpk_*, bp_read_file, …) leaks out,
# and nothing declared is missing.
TEST=cli_symbols; . "$(dirname "$0")/lib.sh"
SO="$B/libbackprop.so"
[ -f "$SO" ] || { echo "cli_symbols: $SO not built"; exit 1; }
# Declared: the name before the first "(" of every BP_API declaration, with
# comments and preprocessor lines dropped (the macro's definition is not one).
perl -0777 -ne 's{/\*.*?\*/}{}gs; s/^[ \t]*#.*$//mg; print "$1\n" while /BP_API[^;{(]*?\b(\w+)\s*\(/g' \
    include/backprop.h | sort -u >"$T/declared"
nm -D --defined-only "$SO" | awk '$2 ~ /^[TtWwDdBbRrVvi]$/ {print $3}' | sed 's/@.*//' |
    grep -Ev '^(_init|_fini|_edata|_end|__bss_start|__(odr_)?asan.*|__ubsan.*|__sanitizer.*)$' |
    sort -u >"$T/exported"
if [ "$(wc -l <"$T/declared")" -lt 100 ]; then
    bad "only $(wc -l <"$T/declared") declarations found in the header"
else ok; fi
extra=$(comm -13 "$T/declared" "$T/exported")
missing=$(comm -23 "$T/declared" "$T/exported")
if [ -n "$extra" ]; then
    bad "exported but not in backprop.h:" $extra
else ok; fi
if [ -n "$missing" ]; then
    bad "declared BP_API but not exported:" $missing
else ok; fi
# Every function declaration at file scope carries BP_API.
bare=$(grep -nE '^[a-z][a-z_ ]*[ *]bp_[a-z0-9_]+\(' include/backprop.h | grep -v 'BP_API\|static inline')
if [ -n "$bare" ]; then
    bad "declarations without BP_API: $bare"
else ok; fi
echo "cli_symbols: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
