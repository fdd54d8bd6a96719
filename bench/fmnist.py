"""Fashion-MNIST for the PyTorch peers: the gzip IDX files of Debian's dataset-fashion-mnist
(or $BACKPROP_DATA) as float32 arrays in [0, 1] and int64 labels, like bp_dataset_load_named."""
import gzip
import os

import numpy as np


def _dir():
    env = os.environ.get("BACKPROP_DATA")
    for d in ([env, os.path.join(env, "fashion-mnist")] if env else []) + ["/usr/share/datasets/fashion-mnist"]:
        if os.path.exists(os.path.join(d, "train-images-idx3-ubyte.gz")):
            return d
    raise SystemExit("fmnist.py: Fashion-MNIST not found (apt-get install dataset-fashion-mnist)")


def _idx(path, magic):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if int.from_bytes(raw[0:4], "big") != magic:
        raise SystemExit(f"fmnist.py: {path}: bad IDX magic")
    return raw


def load(which):
    """which: "train" or "test" -> (x [n, 784] float32, y [n] int64)"""
    d, stem = _dir(), ("train" if which == "train" else "t10k")
    img = _idx(os.path.join(d, f"{stem}-images-idx3-ubyte.gz"), 2051)
    lab = _idx(os.path.join(d, f"{stem}-labels-idx1-ubyte.gz"), 2049)
    n = int.from_bytes(img[4:8], "big")
    x = np.frombuffer(img, np.uint8, n * 784, 16).reshape(n, 784).astype(np.float32) / np.float32(255)
    y = np.frombuffer(lab, np.uint8, n, 8).astype(np.int64)
    return x, y
