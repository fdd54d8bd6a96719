"""Workload A in PyTorch (peer of bench_backprop A): 784-128-10, sigmoid hidden and output,
E = 0.5 * sum((a - t)^2) per sample, plain SGD lr 0.1, batch 1, one pass over the first
`ntrain` training images in file order, Xavier-uniform weights and zero biases (as bp_net_init).
Only the training loop is timed ($BENCH_SETTING, a label from bench/run.sh, is copied into the
output line).  Threads are pinned before torch is imported (Debian's torch
runs fp32 GEMM through OpenBLAS, whose pool ignores torch.set_num_threads).
Usage: /usr/bin/python3 bench/torch_seed.py [threads] [ntrain] [run]
Prints: torch-A setting=… threads=1 run=1 ntrain=… train_s=… epoch_s=… samples_per_s=… test_acc=…
(epoch_s = train_s scaled to 60000 samples)"""
import os
import sys

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
os.environ["OMP_NUM_THREADS"] = str(threads)
os.environ["OPENBLAS_NUM_THREADS"] = os.environ.get("BLAS_THREADS", str(threads))

import time  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402

ntrain = int(sys.argv[2]) if len(sys.argv) > 2 else 60000
run = int(sys.argv[3]) if len(sys.argv) > 3 else 1
torch.set_num_threads(threads)
torch.manual_seed(42)

xtr, ytr = fmnist.load("train")
xte, yte = fmnist.load("test")
full = xtr.shape[0]
xtr = torch.from_numpy(xtr[:ntrain].copy())
ttr = torch.nn.functional.one_hot(torch.from_numpy(ytr[:ntrain].copy()), 10).float()
xte, yte = torch.from_numpy(xte), torch.from_numpy(yte)

net = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.Sigmoid(),
                          torch.nn.Linear(128, 10), torch.nn.Sigmoid())
for m in net:
    if isinstance(m, torch.nn.Linear):
        torch.nn.init.xavier_uniform_(m.weight)
        torch.nn.init.zeros_(m.bias)
opt = torch.optim.SGD(net.parameters(), lr=0.1)

t0 = time.perf_counter()
for i in range(ntrain):
    opt.zero_grad()
    e = 0.5 * ((net(xtr[i:i + 1]) - ttr[i:i + 1]) ** 2).sum()
    e.backward()
    opt.step()
t = time.perf_counter() - t0

with torch.no_grad():
    acc = (net(xte).argmax(1) == yte).float().mean().item()
print(f"torch-A setting={os.environ.get('BENCH_SETTING', '-')} threads={threads} run={run} ntrain={ntrain} train_s={t:.4f} epoch_s={t * full / ntrain:.4f} "
      f"samples_per_s={ntrain / t:.0f} test_acc={acc:.4f}", flush=True)
