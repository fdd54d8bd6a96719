#!/bin/sh
# Runs every test binary given, then the CLI tests; prints one summary line.
passed=0; failed=0
for t in "$@"; do
    if "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $t"; fi
done
for s in tests/cli_*.sh; do
    [ -f "$s" ] || continue
    if BUILD="${BUILD:-build}" sh "$s"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $s"; fi
done
for e in "${BUILD:-build}"/examples/*; do
    [ -x "$e" ] || continue
    if (cd "$(dirname "$0")/.." && "$e" >/dev/null); then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: example $e"; fi
done
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
