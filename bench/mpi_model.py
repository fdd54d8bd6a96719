#!/usr/bin/env python3
"""α–β model of data-parallel training for docs/scaling.md.

    python3 bench/mpi_model.py [c_us_per_sample] [u_ms_per_step]

One step on P nodes with global batch B: every node computes the gradient of
B/P rows (c per row), the gradients are all-reduced (M bytes per node), and
every node applies the same optimizer update (u, not divided by P):

    T_P = c·B/P + u + t_comm(P)
    ring (reduce-scatter + all-gather; what bench/mpi.sh's Alltoallw +
    Allgatherv costs too):  t_comm = 2(P−1)·α + 2(P−1)/P · M/β
    tree (binomial reduce + broadcast, whole vectors):
                            t_comm = 2·⌈log2 P⌉·(α + M/β)
    efficiency E = T_1 / (P·T_P), T_1 = c·B + u (one node, no network).

Prints markdown tables: step time and efficiency per network, P and B, which
term bounds the step (gradient rows, the replicated update, or the
all-reduce: communication-bound where it is the largest) and the smallest
global batch that keeps E ≥ 80 %.  Standard library only.
"""
import math
import sys

PARAMS = 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10  # 784-512-256-10
STATS = 4  # floats appended to each shard's gradient (backprop.h)
M = 4 * (PARAMS + STATS)  # bytes of one gradient vector
C = float(sys.argv[1]) * 1e-6 if len(sys.argv) > 1 else 25e-6
U = float(sys.argv[2]) * 1e-3 if len(sys.argv) > 2 else 1.2e-3
NETS = [("25 Gb/s Ethernet, α = 10 µs", 10e-6, 25e9 / 8),
        ("100 Gb/s InfiniBand/RoCE, α = 3 µs", 3e-6, 100e9 / 8)]
NODES = [2, 8, 64]
BATCHES = [128, 1024, 8192]


def ring(p, a, b):
    return 2 * (p - 1) * a + 2 * (p - 1) / p * M / b


def tree(p, a, b):
    return 2 * math.ceil(math.log2(p)) * (a + M / b)


def efficiency(p, batch, t):
    return (C * batch + U) / (p * (C * batch / p + U + t))


def batch_for(p, t, target=0.8):
    """Smallest global batch with efficiency ≥ target (None: unreachable)."""
    # c·B + u ≥ target·(c·B + P·u + P·t)  ⇔  B ≥ (target·P·(u + t) − u) / ((1 − target)·c)
    b = (target * p * (U + t) - U) / ((1 - target) * C)
    return max(1, math.ceil(b))


def main():
    print(f"Gradient vector: {PARAMS} parameters + {STATS} statistics = {M} bytes; "
          f"c = {C * 1e6:.1f} µs per row, u = {U * 1e3:.2f} ms per update.\n")
    for name, a, b in NETS:
        print(f"### {name}\n")
        print("| nodes | all-reduce ring / tree (ms) | global batch | step, ring (ms) "
              "| efficiency ring | efficiency tree | bound by |")
        print("|---|---|---|---|---|---|---|")
        for p in NODES:
            tr, tt = ring(p, a, b), tree(p, a, b)
            for batch in BATCHES:
                rows = C * batch / p
                step = rows + U + tr
                # The largest of the three terms bounds the step.
                bound = max((rows, "gradient"), (U, "update"), (tr, "communication"))[1]
                print(f"| {p} | {tr * 1e3:.2f} / {tt * 1e3:.2f} | {batch} | {step * 1e3:.2f} "
                      f"| {efficiency(p, batch, tr):.0%} | {efficiency(p, batch, tt):.0%} "
                      f"| {bound} |")
        print()
        print("| nodes | global batch for ≥ 80 % (ring) | (tree) | per node (ring) |")
        print("|---|---|---|---|")
        for p in NODES:
            br, bt = batch_for(p, ring(p, a, b)), batch_for(p, tree(p, a, b))
            print(f"| {p} | {br} | {bt} | {math.ceil(br / p)} |")
        print()


if __name__ == "__main__":
    main()
