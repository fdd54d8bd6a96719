"""Net, Dataset and Trainer: callbacks that stop training, Ctrl-C, the GIL,
zero-copy weight views, the step trace, files and checkpoints."""
import os
import signal
import tempfile
import threading
import time
import unittest

import util
import numpy as np
from backprop import Dataset, Net, Trainer


def big_problem(rows=20000):
    rng = np.random.RandomState(0)
    X = rng.rand(rows, 64).astype(np.float32)
    y = (X[:, :8].sum(axis=1) > 4).astype(np.int32)
    return Net(64, [(256, "tanh"), (2, "softmax")], loss="xent"), Dataset(X, y, classes=2)


class Training(unittest.TestCase):
    def xor(self):
        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
        return Dataset(X, np.array([0, 1, 1, 0]), classes=2)

    def test_callback_sees_every_epoch_and_stops(self):
        net = Net(2, [(4, "tanh"), (2, "softmax")], loss="xent")
        seen = []

        def cb(report):
            seen.append(report["epoch"])
            return report["epoch"] == 3  # stop after epoch 3

        tr = Trainer(net, callback=cb, epochs=100, batch_size=1, learning_rate=0.1)
        hist = tr.run(self.xor())
        self.assertTrue(tr.stopped)
        self.assertEqual(seen, [1, 2, 3])
        self.assertEqual(tr.epoch, 3)
        self.assertEqual([h["epoch"] for h in hist], [1, 2, 3])
        self.assertTrue(np.isfinite(hist[-1]["train_loss"]))
        # the trainer goes on where it stopped
        tr.callback = None
        tr.run(self.xor(), epochs=10)
        self.assertEqual(tr.epoch, 10)
        self.assertFalse(tr.stopped)

    def test_bf16_precision(self):
        """precision="bf16": refused without AVX512-BF16 (unless emulated), learns
        like fp32 without being it, and an unknown name is a ValueError."""
        def trained(precision, emulate):
            net = Net(64, [(32, "tanh"), (2, "softmax")], loss="xent", seed=3)
            X = np.random.RandomState(1).rand(400, 64).astype(np.float32)
            y = (X[:, :8].sum(axis=1) > 4).astype(np.int32)
            old = os.environ.pop("BACKPROP_BF16", None)
            if emulate:
                os.environ["BACKPROP_BF16"] = "emulate"
            try:
                Trainer(net, epochs=5, batch_size=16, precision=precision).run(
                    Dataset(X, y, classes=2))
            finally:
                os.environ.pop("BACKPROP_BF16", None)
                if old is not None:
                    os.environ["BACKPROP_BF16"] = old
            return net.params.copy()
        fp, bf = trained("fp32", False), trained("bf16", True)
        self.assertFalse(np.array_equal(fp, bf))
        self.assertLess(np.abs(fp - bf).max(), 0.1)
        with self.assertRaises(ValueError):
            trained("fp16", True)
        native = "avx512_bf16" in open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else False
        if not native:
            with self.assertRaisesRegex(NotImplementedError, "AVX512-BF16"):
                trained("bf16", False)

    def test_callback_exception_is_reraised(self):
        net = Net(2, [(4, "tanh"), (2, "softmax")], loss="xent")

        def cb(report):
            raise RuntimeError("boom at %d" % report["epoch"])

        tr = Trainer(net, callback=cb, epochs=10)
        with self.assertRaisesRegex(RuntimeError, "boom at 1"):
            tr.run(self.xor())
        self.assertEqual(tr.epoch, 1)

    def test_keyboard_interrupt_stops_training_cleanly(self):
        net, ds = big_problem()
        tr = Trainer(net, epochs=1000, batch_size=32, learning_rate=0.01)
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        t0 = time.monotonic()
        with self.assertRaises(KeyboardInterrupt):
            tr.run(ds)
        timer.join()
        self.assertLess(time.monotonic() - t0, 5.0)
        self.assertLess(tr.epoch, 1000)
        out = net.predict(ds.X[:10])  # the net is usable: weights after the last batch
        self.assertTrue(np.all(np.isfinite(out)))
        np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)

    def test_gil_released_and_request_stop(self):
        net, ds = big_problem()
        tr = Trainer(net, epochs=1000, batch_size=32, learning_rate=0.01)
        err = []
        th = threading.Thread(target=lambda: err.append(tr.run(ds)))
        th.start()
        count = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.3:  # Python keeps running while C trains
            count += 1
        tr.request_stop()
        th.join(10)
        self.assertFalse(th.is_alive())
        self.assertEqual(len(err), 1)  # run() returned normally
        self.assertTrue(tr.stopped)
        self.assertGreater(count, 1000)
        self.assertLess(tr.epoch, 1000)

    def test_weights_are_views(self):
        net = Net(2, [(2, "sigmoid"), (1, "sigmoid")], seed=None)
        W = net.weights(0)
        self.assertEqual(W.shape, (2, 2))
        self.assertEqual(net.biases(1).shape, (1,))
        W[:] = [[0.15, 0.20], [0.25, 0.30]]
        net.weights(1)[:] = [[0.40, 0.45]]
        net.biases(0)[:] = 0.35
        net.biases(1)[:] = 0.60
        # the article's first forward pass
        out = net.predict(np.array([0.05, 0.10], dtype=np.float32))
        self.assertAlmostEqual(float(out[0]), 0.75136507, places=5)
        # params is the same memory
        p = net.params
        self.assertEqual(p.shape, (net.param_count,))
        self.assertAlmostEqual(float(p[0]), 0.15, places=6)
        del net  # the views keep the net alive
        self.assertAlmostEqual(float(W[1, 1]), 0.30, places=6)

    def test_zero_copy_predict(self):
        net = Net(3, [(2, "linear")])
        X = np.random.RandomState(1).rand(5, 3).astype(np.float32)
        out = np.empty((5, 2), dtype=np.float32)
        self.assertIs(net.predict(X, out=out), out)
        np.testing.assert_array_equal(out, net.predict(X.astype(np.float64)))
        np.testing.assert_array_equal(out[::2], net.predict(X[::2]))  # non-contiguous copied
        one = np.empty(2, dtype=np.float32)  # the one-row path, into a given buffer
        self.assertIs(net.predict(X[1], out=one), one)
        np.testing.assert_array_equal(one, out[1])
        np.testing.assert_array_equal(net.predict(X[1:2]), out[1:2])
        with self.assertRaises(ValueError):
            net.predict(X[1], out=np.empty((1, 2), dtype=np.float32))

    def test_step_trace(self):
        net = Net(2, [(2, "sigmoid"), (1, "sigmoid")])
        before = net.params.copy()
        text = net.step([0.05, 0.10], [0.01], lr=0.5)
        self.assertIn("backprop", text.lower())
        self.assertIn("w1", text)
        self.assertFalse(np.array_equal(before, net.params))  # the update was applied
        md = net.step([0.05, 0.10], [0.01], format="markdown")
        self.assertIn("$", md)

    def test_save_load_text_and_checkpoint(self):
        net = Net(2, [(3, "tanh"), (2, "softmax")], loss="xent", seed=7)
        net.set_meta("note", "hello")
        with tempfile.TemporaryDirectory() as d:
            for name, save in (("m.bpm", net.save), ("m.net", net.save_text)):
                p = os.path.join(d, name)
                save(p)
                back = Net.load(p)
                np.testing.assert_array_equal(back.params, net.params)
                self.assertEqual(back.layers, net.layers)
            self.assertEqual(Net.load(os.path.join(d, "m.bpm")).meta.get("note"), "hello")
            # ONNX out and back in; the standalone C export writes its two files
            X = np.random.RandomState(2).rand(7, 2).astype(np.float32)
            net.save_onnx(os.path.join(d, "m.onnx"))
            back = Net.load(os.path.join(d, "m.onnx"))
            np.testing.assert_allclose(back.predict(X), net.predict(X), rtol=1e-6)
            net.save_c(os.path.join(d, "m.c"))
            self.assertTrue(os.path.getsize(os.path.join(d, "m.c")) > 0)
            self.assertTrue(os.path.exists(os.path.join(d, "m.h")))
            # a checkpoint resumes bit for bit
            ds = self.xor()
            tr = Trainer(net, epochs=3, batch_size=2, learning_rate=0.1)
            tr.run(ds)
            ck = os.path.join(d, "t.bpc")
            tr.save_checkpoint(ck)
            tr.run(ds, epochs=6)
            tr2 = Trainer.load_checkpoint(ck)
            self.assertEqual(tr2.epoch, 3)
            tr2.run(ds, epochs=6)
            np.testing.assert_array_equal(tr2.net.params, net.params)

    def test_dataset_from_files_and_arrays(self):
        ds = Dataset.read_csv(os.path.join(util.ROOT, "data", "iris.csv"))
        self.assertEqual((ds.rows, ds.inputs, ds.classes), (150, 4, 3))
        self.assertEqual(sorted(set(ds.labels)), [0, 1, 2])
        self.assertEqual(ds.X.shape, (150, 4))
        fann = Dataset.read_fann(os.path.join(util.ROOT, "data", "xor.data"))
        self.assertEqual(fann.rows, 4)
        a, b = ds.split(0.2, seed=1)
        self.assertEqual(a.rows + b.rows, 150)
        net = Net(4, [(8, "tanh"), (3, "softmax")], loss="xent")
        net.fit_scaling(ds)
        Trainer(net, epochs=30, learning_rate=0.05).run(a, b)
        m = net.evaluate(b)
        self.assertGreater(m["accuracy"], 0.8)
        self.assertEqual(m["confusion"].shape, (3, 3))


if __name__ == "__main__":
    unittest.main()
