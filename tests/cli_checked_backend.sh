#!/bin/sh
# nn/ on a backend whose memory is not the host's: the checked backend
# (src/kernels/checked_backend.c) runs the CPU's ops but aborts when an op is
# handed memory it did not allocate, and the trainer must upload and download
# the parameters, optimizer state and shard statistics at the right places.
# Every fixed run of cli_same_bits.sh must then give the same bits as on the
# CPU, and the sharded trainer's tests must pass unchanged.
cd "$(dirname "$0")/.." || exit 1
B=${BUILD:-build}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "cli_checked_backend: FAIL: $*"; }
export BACKPROP_DEVICE=checked
out=$(BUILD=$B sh tests/cli_same_bits.sh 2>&1)
case $out in *" 0 failed"*) ok ;; *) bad "same bits on the checked backend: $out" ;; esac
for t in test_shards test_checkpoint_best test_stop; do
    if [ -x "$B/tests/$t" ]; then
        if "$B/tests/$t" >/dev/null 2>&1; then ok; else bad "$t on the checked backend"; fi
    fi
done
# It is really in use: an unknown device is refused by name.
if BACKPROP_DEVICE=nosuch "$B/backprop" train data/iris.csv --epochs 1 -o /dev/null -q 2>&1 |
    grep -q 'unknown device "nosuch"'; then ok; else bad "BACKPROP_DEVICE is not read"; fi
echo "cli_checked_backend: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
