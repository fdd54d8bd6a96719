"""Fashion-MNIST for the PyTorch peers: the gzip IDX files of Debian's dataset-fashion-mnist
(or $BACKPROP_DATA) as float32 arrays in [0, 1] and int64 labels, like bp_dataset_load_named.

`python3 bench/fmnist.py synth DIR [TRAIN TEST]` writes a synthetic stand-in with the same shapes (60000 +
10000 images of 28×28 bytes, 10 classes) to DIR, for bench/run.sh on a machine without the data
set: noise plus a bright band whose position is the class, so the nets still learn something.
Timings on it are comparable with the real set's (the work per sample is the same); accuracies
are not.  TRAIN and TEST change the row counts (tests use small ones).  Standard library only,
deterministic (seed 42)."""
import gzip
import os
import random
import sys


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
    import numpy as np

    d, stem = _dir(), ("train" if which == "train" else "t10k")
    img = _idx(os.path.join(d, f"{stem}-images-idx3-ubyte.gz"), 2051)
    lab = _idx(os.path.join(d, f"{stem}-labels-idx1-ubyte.gz"), 2049)
    n = int.from_bytes(img[4:8], "big")
    x = np.frombuffer(img, np.uint8, n * 784, 16).reshape(n, 784).astype(np.float32) / np.float32(255)
    y = np.frombuffer(lab, np.uint8, n, 8).astype(np.int64)
    return x, y


def synth(out, ntrain=60000, ntest=10000):
    """Writes the four gzip IDX files of a synthetic Fashion-MNIST-shaped set into out."""
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(42)
    for stem, n in (("train", ntrain), ("t10k", ntest)):
        labels = bytes(rnd.randrange(10) for _ in range(n))
        pix = bytearray(rnd.randbytes(n * 784))
        for i, k in enumerate(labels):  # class k: rows 2k+4 and 2k+5 of the 28×28 image lit
            o = i * 784 + (2 * k + 4) * 28
            pix[o:o + 56] = b"\xff" * 56
        head = (2051).to_bytes(4, "big") + n.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
        with gzip.open(os.path.join(out, f"{stem}-images-idx3-ubyte.gz"), "wb", compresslevel=1) as f:
            f.write(head + pix)
        with gzip.open(os.path.join(out, f"{stem}-labels-idx1-ubyte.gz"), "wb", compresslevel=1) as f:
            f.write((2049).to_bytes(4, "big") + n.to_bytes(4, "big") + labels)


if __name__ == "__main__":
    rows = [int(a) if a.isdigit() else 0 for a in sys.argv[3:5]]
    if len(sys.argv) not in (3, 5) or sys.argv[1] != "synth" or any(r < 1 for r in rows):
        print("usage: python3 bench/fmnist.py synth DIR [TRAIN_ROWS TEST_ROWS] (rows ≥ 1)", file=sys.stderr)
        sys.exit(2)
    synth(sys.argv[2], *rows)
