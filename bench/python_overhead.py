#!/usr/bin/python3
"""Python overhead per one-row predict (a benchmark, not a test).

Times, for one row of an iris-sized model (4-16-3 softmax):
  C         bp_predict in a loop in a small C program (cc; the floor)
  ctypes    lib.bp_predict called directly through ctypes with preset pointers
  Net.predict(x, out=buf)   the package, output buffer reused
  Net.predict(x)            the package, a new output array per call
  clf.predict_proba(X)      the scikit-learn estimator (validation included)
Usage: PYTHONPATH=python /usr/bin/python3 bench/python_overhead.py [build-dir]
"""
import os
import subprocess
import sys
import tempfile
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("BACKPROP_LIB", os.path.join(BUILD, "libbackprop.so"))

import numpy as np  # noqa: E402
import backprop  # noqa: E402
from backprop._lib import lib  # noqa: E402

C_PROG = r"""
#include <stdio.h>
#include <time.h>
#include "backprop.h"
int main(int argc, char **argv)
{
    bp_net *net; bp_workspace *ws;
    if (bp_net_load(&net, argv[1]) || bp_workspace_create(&ws, net, 256, 1)) return 1;
    float x[4] = {5.1f, 3.5f, 1.4f, 0.2f}, y[3];
    long n = 2000000;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) { x[0] += 1e-7f; bp_predict(net, ws, x, 1, y); }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.4f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000.0);
    return y[0] > 2;
}
"""


def per_call_us(fn, number=200000):
    return min(timeit.repeat(fn, number=number, repeat=3)) / number * 1e6


def main():
    X = np.random.RandomState(0).rand(150, 4) * 5
    y = (X[:, 2] > 2.5).astype(int) + (X[:, 3] > 3.5)
    clf = backprop.MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    clf.fit(X, y)
    net = clf.net_
    x = np.array([5.1, 3.5, 1.4, 0.2], dtype=np.float32)
    out = np.empty(net.outputs, dtype=np.float32)
    res = {}
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "m.bpm")
        net.save(model)
        src, exe = os.path.join(d, "b.c"), os.path.join(d, "b")
        with open(src, "w") as f:
            f.write(C_PROG)
        try:
            subprocess.run(["cc", "-O2", "-I", os.path.join(ROOT, "include"), src,
                            os.path.join(BUILD, "libbackprop.a"), "-lz", "-lm", "-lpthread",
                            "-o", exe], check=True)
            res["C bp_predict"] = float(subprocess.run([exe, model], capture_output=True,
                                                       text=True).stdout)
        except (OSError, subprocess.CalledProcessError, ValueError) as e:
            print("C timing unavailable:", e)
    ws = net._workspace()
    xp, op, ptr = x.ctypes.data, out.ctypes.data, net._ptr
    res["ctypes bp_predict"] = per_call_us(lambda: lib.bp_predict(ptr, ws, xp, 1, op))
    res["Net.predict(x, out=buf)"] = per_call_us(lambda: net.predict(x, out=out))
    res["Net.predict(x)"] = per_call_us(lambda: net.predict(x))
    X1 = x.reshape(1, -1).astype(np.float64)
    res["clf.predict_proba(X)"] = per_call_us(lambda: clf.predict_proba(X1), 20000)
    base = res.get("C bp_predict")
    for k, v in res.items():
        extra = "" if base is None else "  (+%.2f µs over C)" % (v - base)
        print("%-26s %8.3f µs/call%s" % (k, v, extra))


if __name__ == "__main__":
    main()
