#!/bin/sh
# The README's C example must compile against the library and run, and be
# examples/xor.c to the byte (the README says it is that file).
B=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
awk '/^```c$/{on=1; next} /^```$/{if (on) exit} on' README.md >"$T/readme.c"
[ -s "$T/readme.c" ] || { echo "cli_readme: no C block in README.md"; exit 1; }
cmp -s "$T/readme.c" examples/xor.c ||
    { echo "cli_readme: README's C listing differs from examples/xor.c:"; diff "$T/readme.c" examples/xor.c; exit 1; }
${CC:-cc} -std=c11 -Wall -Wextra -Wpedantic -Werror -Iinclude "$T/readme.c" "$B/libbackprop.a" \
    ${SAN_FLAGS:-} -lz -lm -lpthread -o "$T/readme" || { echo "cli_readme: README example does not compile"; exit 1; }
"$T/readme" >"$T/out" || { echo "cli_readme: README example failed"; exit 1; }
# Four rows, each on the right side of ½ (the program itself exits 1 unless
# its mean squared error fell below 0.01).
awk '$2 == "xor" { n++; if (($5 > 0.5) == ($1 != $3)) ok++ } END { exit !(n == 4 && ok == 4) }' "$T/out" ||
    { echo "cli_readme: README example did not learn XOR:"; cat "$T/out"; exit 1; }
echo "cli_readme: 2 passed, 0 failed"
