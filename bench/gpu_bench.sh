#!/bin/sh
# make bench-gpu (docs/gpu.md): backprop's CUDA backend against PyTorch eager
# and PyTorch with the whole step in a CUDA graph, in the same run on the
# same GPU, for the four rows of the CUDA issue; writes bench/results-gpu.md.
#   PyTorch: shared/reference-bench/gpu_anchor.py and gpu_anchor_graph.py
#            (REF_BENCH=DIR to point elsewhere), skipped when torch has no CUDA;
#   backprop: bench/gpu_step (the backend's ops, no fusion, no graph yet).
B=${1:-build}
OUT=bench/results-gpu.md
REF=${REF_BENCH:-}
for d in shared/reference-bench /work/shared/reference-bench; do
    [ -z "$REF" ] && [ -f "$d/gpu_anchor.py" ] && REF=$d
done
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
echo "bench-gpu: on ${gpu:-no GPU found by nvidia-smi}"
# backprop first: the rows of the issue (Adam throughout, as the anchors).
step() { # SIZES BATCH STEPS
    timeout 120 "$B/bench/gpu_step" "$@" >>"$T/bp" 2>&1 || echo "gpu_step $*: failed" >>"$T/bp"
}
step 784,512,256,10 128 500
step 784,512,256,10 1024 200
step 784,128,10 1 2000
step 784,4096,4096,4096,10 4096 20
cat "$T/bp"
if [ -n "$REF" ] && $PY -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    timeout 300 $PY "$REF/gpu_anchor.py" >"$T/eager" 2>&1 || echo "gpu_anchor.py failed" >>"$T/eager"
    timeout 300 $PY "$REF/gpu_anchor_graph.py" >"$T/graph" 2>&1 || echo "gpu_anchor_graph.py failed" >>"$T/graph"
else
    echo "PyTorch with CUDA not available here (or no reference-bench): anchors not run" | tee "$T/eager" >"$T/graph"
fi
cat "$T/eager" "$T/graph"

# samples/s of the line matching a pattern (first field before " samples/s").
rate() { grep -F -- "$2" "$1" | head -1 | sed -n 's/.*: \([0-9,]*\) samples\/s.*/\1/p' | tr -d ,; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
row() { # label sizes-pattern batch
    bp=$(rate "$T/bp" "$2 batch=$3:"); ea=$(rate "$T/eager" "$2 batch=$3 "); gr=$(rate "$T/graph" "graph $2 batch=$3:")
    echo "| $1 | ${bp:-—} | ${ea:-—} | ${gr:-—} | $(ratio "$bp" "$gr") |"
}
{
    echo "# GPU benchmark (make bench-gpu)"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), ${gpu:-unknown GPU}, fp32 with TF32 off, synthetic data on the GPU;"
    echo "samples/s, all in this one run.  backprop: the CUDA backend's ops, one launch each,"
    echo "no fusion and no CUDA graph yet (docs/gpu.md)."
    echo
    echo "| work | backprop | PyTorch eager | PyTorch CUDA graph | backprop / graph |"
    echo "|---|---|---|---|---|"
    row "784-512-256-10 Adam, batch 128" "[784, 512, 256, 10]" 128
    row "same, batch 1024" "[784, 512, 256, 10]" 1024
    row "784-128-10 Adam, batch 1" "[784, 128, 10]" 1
    row "784-4096×3-10 Adam, batch 4096" "[784, 4096, 4096, 4096, 10]" 4096
    echo
    echo "Raw output:"
    echo
    echo '```'
    cat "$T/bp" "$T/eager" "$T/graph"
    echo '```'
} >"$OUT"
echo "bench-gpu: wrote $OUT"
