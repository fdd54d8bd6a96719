#!/bin/sh
# One go for a short GPU session (≤ 5 minutes): build, `make check-gpu`,
# then (with --bench) `make bench-gpu`.  Everything it prints is also in
# $OUT/gpu_checks.log when $OUT is set (the device tool's output folder).
#   sh tests/gpu/run_gpu_checks.sh [--bench]
cd "$(dirname "$0")/../.." || exit 1
log=${OUT:+$OUT/gpu_checks.log}
log=${log:-/dev/null}
rcfile=$(mktemp)
trap 'rm -f "$rcfile"' EXIT
{
    echo "== $(date -u) on $(hostname)"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
    /usr/local/cuda/bin/nvcc --version 2>&1 | tail -1
    echo "== build"
    # The GPU machine may lack cmocka: build only what check-gpu needs.
    make -j"$(nproc)" all build/tests/gpu/test_cuda_ops 2>&1 | grep -v '^\(cc\|ar\|rm\) ' | tail -20
    echo "== make check-gpu"
    timeout 240 make check-gpu; rc=$?
    echo "== check-gpu exit status $rc"
    if [ "${1:-}" = --bench ]; then
        echo "== make bench-gpu"
        timeout 240 make bench-gpu
        [ -n "${OUT:-}" ] && cp bench/results-gpu.md "$OUT/" 2>/dev/null
    fi
    echo "$rc" >"$rcfile"
} 2>&1 | tee "$log"
exit "$(cat "$rcfile")"
