#!/bin/sh
# Commands that cannot run without -o say so in one wording (cli/common.c's
# required_output) and exit 2, before any other option is looked at.
TEST=cli_required_output; . "$(dirname "$0")/lib.sh"
A=examples/article.net
expect_rc 2 "draw without -o" "$BP" draw "$A"
contains "$T/err" "backprop draw: -o FILE.svg is required" "draw names -o"
expect_rc 2 "export without -o" "$BP" export "$A" --format onnx
contains "$T/err" "backprop export: -o FILE is required" "export names -o"
printf 'epoch,seconds\n' >"$T/log.csv"
expect_rc 2 "plot without -o (and two scales)" "$BP" plot "$T/log.csv" --log-scale --linear-scale
contains "$T/err" "backprop plot: -o FILE.svg is required" "plot names -o first"
expect_rc 2 "plot with both scales" "$BP" plot "$T/log.csv" --log-scale --linear-scale \
    -o "$T/p.svg"
contains "$T/err" "give --log-scale or --linear-scale, not both" "then the scales"
echo "$TEST: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
