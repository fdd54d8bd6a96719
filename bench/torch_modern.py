"""Workloads B and C in PyTorch (peer of bench_backprop B/C): 784-512-256-10, ReLU, softmax +
cross-entropy, Adam lr 1e-3, minibatch 128 reshuffled every epoch, `epochs` epochs, each timed
(training only), test accuracy after each; then inference of the trained net: batch 1 (one
forward per test sample, one pass), batches of 128 and the whole test set (best of 3 passes).

Threads are pinned before torch is imported: torch intra-op (OpenMP) threads = argv[1],
OpenBLAS pool = $BLAS_THREADS (default the same).  Debian's torch runs fp32 GEMM through the
libblas.so.3 the loader finds (OpenBLAS's own pool ignores torch.set_num_threads), so which BLAS,
its thread count and $OPENBLAS_CORETYPE are settings of their own: bench/run.sh tries each
sensible combination (LD_LIBRARY_PATH picks another installed libblas.so.3) and compares
backprop with the fastest.

Knobs for that quick sweep (environment):
  TORCH_STEPS=k     time k minibatches per "epoch" (after 5 untimed warm-up steps) and report
                    the time scaled to a whole epoch; 0 (default): whole epochs
  TORCH_B1_ROWS=n   batch-1 inference over the first n test rows only (default: all)
  BENCH_SETTING=s   a label (no spaces) copied into every output line
epochs = 0 skips training and only times inference (an untrained net runs at the same speed).

Usage: [BLAS_THREADS=n] /usr/bin/python3 bench/torch_modern.py [threads] [epochs] [run]
Prints: torch-env setting=… blas=… (the libblas.so.3 in use, OpenBLAS's core and config)
        torch-B setting=… threads=… blas_threads=… run=… epoch=… train_s=… samples_per_s=… test_acc=…
        torch-C setting=… threads=… blas_threads=… infer_us_per_sample batch1=… batch128=… batch10000=…"""
import ctypes
import os
import sys

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
blas = os.environ.get("BLAS_THREADS", str(threads))
os.environ["OMP_NUM_THREADS"] = str(threads)
os.environ["OPENBLAS_NUM_THREADS"] = blas

import time  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402

epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
run = int(sys.argv[3]) if len(sys.argv) > 3 else 1
steps = int(os.environ.get("TORCH_STEPS", "0"))
setting = os.environ.get("BENCH_SETTING", "-")
torch.set_num_threads(threads)
torch.manual_seed(42)


def blas_in_use():
    """The libblas.so.3 this process mapped, and OpenBLAS's core/config when it is OpenBLAS."""
    path = "?"
    with open("/proc/self/maps") as f:
        for line in f:
            if "libblas.so" in line or "libopenblas" in line:
                path = os.path.realpath(line.split()[-1])
                break
    core = "-"
    try:
        lib = ctypes.CDLL(path)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        core = lib.openblas_get_corename().decode() + ",\"" + lib.openblas_get_config().decode() + "\""
    except (OSError, AttributeError):
        pass
    return path, core


tag = f"setting={setting} threads={threads} blas_threads={blas}"
lib, core = blas_in_use()
print(f"torch-env setting={setting} torch={torch.__version__} blas={lib} openblas_core={core}", flush=True)

xtr, ytr = fmnist.load("train")
xte, yte = fmnist.load("test")
xtr, ytr, xte, yte = (torch.from_numpy(a) for a in (xtr, ytr, xte, yte))
net = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                          torch.nn.Linear(512, 256), torch.nn.ReLU(),
                          torch.nn.Linear(256, 10))
for m in net:
    if isinstance(m, torch.nn.Linear):
        torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")  # He normal, as bp_net_init
        torch.nn.init.zeros_(m.bias)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
xent = torch.nn.CrossEntropyLoss()
n, B = xtr.shape[0], 128
batches = (n + B - 1) // B


def accuracy():
    net.eval()
    with torch.no_grad():
        a = (net(xte).argmax(1) == yte).float().mean().item()
    net.train()
    return a


def step(idx):
    opt.zero_grad()
    xent(net(xtr[idx]), ytr[idx]).backward()
    opt.step()


if steps > 0 and epochs > 0:  # quick sweep: warm up, so that the first chunk is not penalised
    for s in range(5):
        step(torch.randperm(n)[:B])
acc = 0.0
for ep in range(1, epochs + 1):
    count = min(steps, batches) if steps > 0 else batches
    t0 = time.perf_counter()
    perm = torch.randperm(n)
    for s in range(0, count * B, B):
        step(perm[s:s + B])
    t = (time.perf_counter() - t0) * batches / count
    acc = accuracy() if steps == 0 else float("nan")  # a sweep's chunk: the time is what counts
    print(f"torch-B {tag} run={run} epoch={ep} steps={count} train_s={t:.4f} "
          f"samples_per_s={n / t:.0f} test_acc={acc:.4f}", flush=True)

net.eval()
nt = xte.shape[0]
n1 = min(nt, int(os.environ.get("TORCH_B1_ROWS", str(nt))))
best = [1e30, 1e30, 1e30]
with torch.no_grad():
    for p in range(3):
        t0 = time.perf_counter()
        if p == 0:  # batch 1 is slow (~0.2 ms per sample): one pass
            for i in range(n1):
                net(xte[i:i + 1])
        t1 = time.perf_counter()
        for s in range(0, nt, 128):
            net(xte[s:s + 128])
        t2 = time.perf_counter()
        net(xte)
        t3 = time.perf_counter()
        best = [min(best[0], t1 - t0) if p == 0 else best[0], min(best[1], t2 - t1), min(best[2], t3 - t2)]
print(f"torch-C {tag} run={run} infer_us_per_sample batch1={best[0] / n1 * 1e6:.3f} "
      f"batch128={best[1] / nt * 1e6:.3f} batch{nt}={best[2] / nt * 1e6:.3f} test_acc={acc:.4f}", flush=True)
