#!/bin/sh
# Runs each libFuzzer binary given for $FUZZ_SECONDS seconds on a working copy
# of its seed corpus ($FUZZ_DIR/corpus/NAME, seeded from tests/fuzz/corpus/NAME
# and kept between runs).  Crashes land in $FUZZ_DIR/artifacts/.  Exits 1 if
# any target found something.
dir=${FUZZ_DIR:-build/fuzz}
secs=${FUZZ_SECONDS:-60}
failed=0
mkdir -p "$dir/artifacts" "$dir/logs"
for bin in "$@"; do
    name=$(basename "$bin")
    mkdir -p "$dir/corpus/$name"
    if [ -d "tests/fuzz/corpus/$name" ]; then
        cp tests/fuzz/corpus/"$name"/* "$dir/corpus/$name/" 2>/dev/null
    fi
    log="$dir/logs/$name.log"
    "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/$name-" "$dir/corpus/$name" >"$log" 2>&1 &
    pid=$!
    wait $pid
    rc=$?
    # The target's per-process input files (tests/fuzz/fuzz_util.h).
    rm -f /dev/shm/bp_fuzz_*_"$pid"_* /tmp/bp_fuzz_*_"$pid"_*
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz: $name: ${execs:-?} executions in ${secs}s, no findings"
    else
        failed=1
        echo "fuzz: $name: FINDING (exit $rc) after ${execs:-?} executions; see $log"
        grep -E "^(==[0-9]+==ERROR|SUMMARY|.*runtime error)" "$log" | head -n 5
    fi
done
exit $failed
