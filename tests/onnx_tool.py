"""Helpers for tests/cli_onnx.sh (run with /usr/bin/python3; needs numpy,
onnx, and for `torch` python3-torch).

  check MODEL.onnx                     onnx.checker.check_model(full_check=True)
  eval MODEL.onnx DATA.csv PRED.csv    a small numpy evaluator of the graph vs
                                       `backprop predict --precision 9` output;
                                       prints the max relative error, exits 1 above 1e-5
  torch OUT.onnx DATA.csv REF.csv      a PyTorch MLP exported with torch.onnx.export,
                                       its outputs on DATA's inputs written to REF.csv
  elu OUT.onnx                         a Gemm followed by an Elu node named "elu1"
  compare A.csv B.csv N                the last N columns of two CSVs, max rel error
  fashion DIR TRAIN.csv TEST.csv N M   the first N training and M test images of
                                       Fashion-MNIST as CSV (pixel/255, label last);
                                       standard library only
"""
import csv
import gzip
import struct
import sys

try:
    import numpy as np
except ImportError:
    np = None


def read_inputs(path, n):
    rows = []
    with open(path) as f:
        for rec in csv.reader(line for line in f if not line.startswith("#")):
            try:
                rows.append([float(v) for v in rec[:n]])
            except ValueError:
                continue  # the header
    return np.array(rows, dtype=np.float32)


def read_outputs(path, n):
    with open(path) as f:
        recs = list(csv.reader(f))[1:]
    return np.array([[float(v) for v in r[-n:]] for r in recs], dtype=np.float64)


def rel_error(a, b):
    # Relative to the larger magnitude, with outputs below 1e-6 compared absolutely.
    den = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-6)
    return float(np.max(np.abs(a - b) / den))


def attr(node, name, default):
    import onnx
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def evaluate(model, x):
    from onnx import numpy_helper
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    data_inputs = [i.name for i in model.graph.input if i.name not in env]
    env[data_inputs[0]] = x
    for n in model.graph.node:
        a = [env[i] for i in n.input if i]
        op = n.op_type
        if op == "Sub":
            r = a[0] - a[1]
        elif op == "Mul":
            r = a[0] * a[1]
        elif op == "Div":
            r = a[0] / a[1]
        elif op == "Add":
            r = a[0] + a[1]
        elif op == "MatMul":
            r = a[0] @ a[1]
        elif op == "Gemm":
            A = a[0].T if attr(n, "transA", 0) else a[0]
            B = a[1].T if attr(n, "transB", 0) else a[1]
            r = attr(n, "alpha", 1.0) * (A @ B)
            if len(a) > 2:
                r = r + attr(n, "beta", 1.0) * a[2]
        elif op == "Relu":
            r = np.maximum(a[0], 0)
        elif op == "LeakyRelu":
            r = np.where(a[0] > 0, a[0], attr(n, "alpha", 0.01) * a[0])
        elif op == "Sigmoid":
            r = 1 / (1 + np.exp(-a[0]))
        elif op == "Tanh":
            r = np.tanh(a[0])
        elif op == "Softmax":
            e = np.exp(a[0] - a[0].max(axis=attr(n, "axis", -1), keepdims=True))
            r = e / e.sum(axis=attr(n, "axis", -1), keepdims=True)
        elif op in ("Identity", "Flatten"):
            r = a[0].reshape(a[0].shape[0], -1)
        else:
            raise SystemExit("evaluator: op %s not handled" % op)
        env[n.output[0]] = r.astype(np.float64)
    return env[model.graph.output[0].name]


def main():
    cmd = sys.argv[1]
    if cmd == "check":
        import onnx
        m = onnx.load(sys.argv[2])
        onnx.checker.check_model(m, full_check=True)
        print("checker: %s ok" % sys.argv[2])
    elif cmd == "eval":
        import onnx
        m = onnx.load(sys.argv[2])
        n_in = m.graph.input[0].type.tensor_type.shape.dim[1].dim_value
        n_out = m.graph.output[0].type.tensor_type.shape.dim[1].dim_value
        y = evaluate(m, read_inputs(sys.argv[3], n_in)).astype(np.float64)
        ref = read_outputs(sys.argv[4], n_out)
        err = rel_error(y, ref)
        print("eval: %s: %d rows, max relative error %.3g" % (sys.argv[2], len(ref), err))
        sys.exit(0 if y.shape == ref.shape and err <= 1e-5 else 1)
    elif cmd == "torch":
        import torch
        torch.manual_seed(0)
        net = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 6),
            torch.nn.LeakyReLU(0.2), torch.nn.Linear(6, 5), torch.nn.ReLU(),
            torch.nn.Linear(5, 3), torch.nn.Softmax(dim=1))
        net.eval()
        x = torch.from_numpy(read_inputs(sys.argv[3], 4))
        torch.onnx.export(net, x[:2], sys.argv[2], input_names=["x"], output_names=["p"],
                          dynamic_axes={"x": {0: "N"}, "p": {0: "N"}}, opset_version=13)
        with torch.no_grad():
            y = net(x).numpy()
        with open(sys.argv[4], "w") as f:
            f.write("p0,p1,p2\n")
            for r in y:
                f.write(",".join("%.9g" % v for v in r) + "\n")
    elif cmd == "elu":
        import onnx
        from onnx import TensorProto, helper
        w = helper.make_tensor("W", TensorProto.FLOAT, [3, 4], [0.5] * 12)
        g = helper.make_graph(
            [helper.make_node("Gemm", ["x", "W"], ["s"], name="gemm1", transB=1),
             helper.make_node("Elu", ["s"], ["y"], name="elu1")], "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], [w])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        m.ir_version = 7
        onnx.checker.check_model(m)
        onnx.save(m, sys.argv[2])
    elif cmd == "fashion":
        d = sys.argv[2]
        for part, out, n in (("train", sys.argv[3], int(sys.argv[5])),
                             ("t10k", sys.argv[4], int(sys.argv[6]))):
            with gzip.open("%s/%s-images-idx3-ubyte.gz" % (d, part)) as f:
                _, _, rows, cols = struct.unpack(">IIII", f.read(16))
                pix = f.read(n * rows * cols)
            with gzip.open("%s/%s-labels-idx1-ubyte.gz" % (d, part)) as f:
                f.read(8)
                labels = f.read(n)
            with open(out, "w") as f:
                f.write(",".join("p%d" % i for i in range(rows * cols)) + ",label\n")
                for r in range(n):
                    px = pix[r * rows * cols:(r + 1) * rows * cols]
                    f.write(",".join("%.9g" % (v / 255.0) for v in px) + ",%d\n" % labels[r])
    elif cmd == "compare":
        n = int(sys.argv[4])
        a, b = read_outputs(sys.argv[2], n), read_outputs(sys.argv[3], n)
        err = rel_error(a, b)
        print("compare: %d rows, max relative error %.3g" % (len(a), err))
        sys.exit(0 if a.shape == b.shape and err <= 1e-5 else 1)


main()
