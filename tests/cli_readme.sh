#!/bin/sh
# The README's C example must compile against the library and run.
B=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
awk '/^```c$/{on=1; next} /^```$/{if (on) exit} on' README.md >"$T/readme.c"
[ -s "$T/readme.c" ] || { echo "cli_readme: no C block in README.md"; exit 1; }
${CC:-cc} -std=c11 -Wall -Wextra -Wpedantic -Werror -Iinclude "$T/readme.c" "$B/libbackprop.a" \
    ${SAN_FLAGS:-} -lz -lm -lpthread -o "$T/readme" || { echo "cli_readme: README example does not compile"; exit 1; }
"$T/readme" >"$T/out" || { echo "cli_readme: README example failed"; exit 1; }
grep -q "^1 xor 1 = 0\.0" "$T/out" && grep -q "^0 xor 1 = 0\.9" "$T/out" ||
    { echo "cli_readme: README example did not learn XOR:"; cat "$T/out"; exit 1; }
echo "cli_readme: 1 passed, 0 failed"
