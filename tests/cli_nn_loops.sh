#!/bin/sh
# nn/ hands every loop over tensor elements to the backend (docs/backends.md):
# in the files of the passes and the trainer, a function may loop over
# layers, shards, steps or rows of indices, but a loop whose body indexes an
# array element by element ("x[i]", "w[r * n + i]"…) is arithmetic a backend
# should do.  The functions allowed to, each for a reason:
#   bp_check_targets     validates a data set's targets (host data, once a run)
#   bp_net_fit_scaling   a data set's column statistics (host data, once)
#   put_array get_array  checkpoint bytes
#   check_state_arrays   validates a loaded checkpoint
#   parse_name           strings
#   start_epoch evaluate_into   fill a row order with 0, 1, 2… (indices)
#   sum_shard_stats      four statistics per shard (host memory, shared state)
# A new loop elsewhere fails this test, naming the function.
cd "$(dirname "$0")/.." || exit 1
ALLOWED=" bp_check_targets bp_net_fit_scaling put_array get_array check_state_arrays parse_name start_epoch evaluate_into sum_shard_stats "
found=$(awk '
    /^[a-z].*\(/ && !/;$/ { fn = $0; sub(/\(.*/, "", fn); n = split(fn, w, /[ *]+/); fn = w[n]; inloop = 0 }
    /for \(/ { inloop = 3 }
    inloop > 0 && /[a-z_]+\[[a-z_]+( \* [a-z_()]+)?( \+ [a-z_]+)?\]/ && !/\[l\]|\[k\]|\[c\]|\[j\] =|bufs\[|slots\[|arr\[|names\[|fixed\[/ {
        print FILENAME ": " fn
    }
    { if (inloop > 0) inloop-- }
' src/nn/workspace.c src/nn/trainer.c | sort -u)
pass=0 fail=0
echo "$found" | while IFS= read -r line; do
    [ -n "$line" ] || continue
    fn=${line##*: }
    case "$ALLOWED" in *" $fn "*) ;; *) echo "cli_nn_loops: FAIL: $line loops over elements (use a backend op)";; esac
done >"${TMPDIR:-/tmp}/nn_loops.$$"
if [ -s "${TMPDIR:-/tmp}/nn_loops.$$" ]; then
    cat "${TMPDIR:-/tmp}/nn_loops.$$"; fail=1
else
    pass=1
fi
rm -f "${TMPDIR:-/tmp}/nn_loops.$$"
echo "cli_nn_loops: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
