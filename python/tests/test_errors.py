"""Bad input raises exceptions carrying the library's message (never a crash)."""
import os
import tempfile
import unittest

import util
import numpy as np
import backprop
from backprop import (BackpropError, BackpropIOError, BackpropValueError, Dataset, MLPClassifier,
                      MLPRegressor, Net, Trainer)


class Errors(unittest.TestCase):
    def test_missing_model_file(self):
        with self.assertRaises(BackpropIOError) as cm:
            Net.load("/nonexistent/model.bpm")
        self.assertIn("/nonexistent/model.bpm", str(cm.exception))
        self.assertIsInstance(cm.exception, OSError)
        self.assertEqual(cm.exception.status, 3)

    def test_corrupt_model_file(self):
        with tempfile.NamedTemporaryFile(suffix=".bpm") as f:
            f.write(b"BPNN\x01garbage")
            f.flush()
            with self.assertRaises(BackpropError) as cm:
                Net.load(f.name)
        self.assertIn(os.path.basename(f.name), str(cm.exception))

    def test_bad_names_list_the_choices(self):
        with self.assertRaises(BackpropValueError) as cm:
            Net(2, [(3, "sigmoidd"), (1, "linear")])
        self.assertIn("sigmoid", str(cm.exception))
        self.assertIsInstance(cm.exception, ValueError)
        with self.assertRaises(BackpropValueError):
            Net(2, [(1, "linear")], loss="hinge")

    def test_bad_architecture(self):
        with self.assertRaises(BackpropValueError) as cm:
            Net(2, [(3, "softmax"), (1, "linear")])
        self.assertIn("softmax", str(cm.exception).lower())
        with self.assertRaises(BackpropValueError):
            Net(0, [(1, "linear")])

    def test_bad_training_options(self):
        net = Net(2, [(1, "linear")])
        with self.assertRaises(BackpropValueError) as cm:
            Trainer(net, learning_rate=-1.0)
        self.assertIn("learning rate", str(cm.exception))
        with self.assertRaises(TypeError):
            Trainer(net, learning_rat=0.1)
        with self.assertRaises(BackpropValueError) as cm:
            Trainer(net, optimizer="adamm")
        self.assertIn("adam", str(cm.exception))

    def test_shape_mismatches(self):
        net = Net(3, [(2, "linear")])
        with self.assertRaisesRegex(ValueError, "3"):
            net.predict(np.zeros((4, 2), dtype=np.float32))
        ds = Dataset(np.zeros((5, 2)), np.zeros(5))
        with self.assertRaises(BackpropValueError) as cm:
            Trainer(net, epochs=1).run(ds)
        self.assertIn("2", str(cm.exception))
        with self.assertRaises(ValueError):
            Dataset(np.zeros((5, 2)), np.zeros(4))
        with self.assertRaises(ValueError):
            net.step([1, 2], [0, 0])

    def test_bad_csv_names_the_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".csv") as f:
            f.write("a,b,y\n1,2,3\n4,oops,6\n")
            f.flush()
            with self.assertRaises(BackpropValueError) as cm:
                Dataset.read_csv(f.name, task="regression")
        msg = str(cm.exception)
        self.assertIn(os.path.basename(f.name), msg)
        self.assertIn("3", msg)

    def test_nan_inputs_to_estimators(self):
        X = np.ones((10, 2))
        X[3, 1] = np.nan
        for est in (MLPClassifier(max_iter=5), MLPRegressor(max_iter=5)):
            with self.assertRaises(ValueError):
                est.fit(X, np.arange(10) % 2)

    def test_nan_targets_in_trainer(self):
        net = Net(1, [(1, "linear")])
        y = np.ones(4)
        y[2] = np.nan
        with self.assertRaises(BackpropValueError):
            Trainer(net, epochs=1).run(Dataset(np.ones((4, 1)), y))

    def test_unfitted(self):
        with self.assertRaises(ValueError):
            MLPRegressor().predict(np.zeros((1, 2)))

    def test_error_classes_are_exported(self):
        self.assertTrue(issubclass(backprop.TrainingInterrupted, BackpropError))


if __name__ == "__main__":
    unittest.main()
