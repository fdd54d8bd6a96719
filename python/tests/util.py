"""Shared set-up of the Python tests: the package from python/, the library
and CLI from $BUILD (tests/cli_python.sh sets BACKPROP_LIB and BACKPROP_CLI)."""
import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("BACKPROP_LIB", os.path.join(ROOT, "build", "libbackprop.so"))
CLI = os.environ.get("BACKPROP_CLI", os.path.join(ROOT, "build", "backprop"))

import numpy as np  # noqa: E402


def iris():
    """data/iris.csv as (X float64 [150][4], y str [150])."""
    with open(os.path.join(ROOT, "data", "iris.csv")) as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#")]
    X = np.array([[float(v) for v in r[:4]] for r in rows[1:]])
    y = np.array([r[4] for r in rows[1:]])
    return X, y
