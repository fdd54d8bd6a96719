"""Python and the CLI give the same predictions for the same model file:
bit for bit for regression outputs (printed with %.9g) and for a classifier's
probabilities (predict --precision 9), and the same class names."""
import csv
import os
import subprocess
import tempfile
import unittest

import util
import numpy as np
from backprop import MLPClassifier, MLPRegressor, Net


def cli_predict(model, data, *options):
    r = subprocess.run([util.CLI, "predict", model, data, *options], capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise AssertionError("backprop predict failed: " + r.stderr)
    return list(csv.reader(r.stdout.splitlines()))


@unittest.skipUnless(os.access(util.CLI, os.X_OK), "no CLI at " + util.CLI)
class SameAsCli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.X, self.y = util.iris()

    def tearDown(self):
        self.tmp.cleanup()

    def write_csv(self, X, target):
        path = os.path.join(self.dir, "data.csv")
        with open(path, "w") as f:
            f.write(",".join("x%d" % i for i in range(X.shape[1])) + ",target\n")
            for row, t in zip(X.astype(np.float32), target):
                f.write(",".join("%.9g" % v for v in row) + ",%s\n" % t)
        return path

    def test_regression_bitwise(self):
        X, t = self.X[:, :3], self.X[:, 3]
        reg = MLPRegressor(hidden_layer_sizes=(10, 5), activation="tanh", max_iter=50,
                           learning_rate_init=0.01, random_state=3).fit(X, t)
        model = os.path.join(self.dir, "reg.bpm")
        reg.net_.save(model)
        rows = cli_predict(model, self.write_csv(X, t))
        self.assertEqual(rows[0], ["y1"])
        cli = np.array([float(r[0]) for r in rows[1:]], dtype=np.float32)
        mine = reg.net_.predict(X.astype(np.float32))[:, 0]
        self.assertEqual(len(cli), 150)
        np.testing.assert_array_equal(cli.view(np.uint32), mine.view(np.uint32))
        # and a reloaded model predicts the same bits in Python
        again = Net.load(model).predict(X.astype(np.float32))[:, 0]
        np.testing.assert_array_equal(again.view(np.uint32), mine.view(np.uint32))
        # the estimator's float64 predict is the same float32 values
        np.testing.assert_array_equal(reg.predict(X).astype(np.float32), mine)

    def test_classifier_same_classes(self):
        clf = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=100,
                            random_state=0).fit(self.X, self.y)
        model = os.path.join(self.dir, "clf.bpm")
        clf.net_.save(model)
        rows = cli_predict(model, self.write_csv(self.X, self.y))
        proba = clf.predict_proba(self.X)
        cli_p = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
        np.testing.assert_allclose(cli_p, proba, rtol=1e-5, atol=1e-7)
        cli_class = [r[0] for r in rows[1:]]
        idx = np.argmax(proba, axis=1)
        mine_names = [str(clf.classes_[i]) for i in idx]
        # the model records the classes, so the CLI prints their names
        self.assertEqual(clf.net_.classes, list(clf.classes_))
        self.assertEqual(cli_class, mine_names)
        # with 9 digits the probabilities read back to the very same float32 bits
        rows9 = cli_predict(model, self.write_csv(self.X, self.y), "--precision", "9")
        cli9 = np.array([[float(v) for v in r[1:]] for r in rows9[1:]], dtype=np.float32)
        mine = clf.net_.predict(self.X.astype(np.float32))
        np.testing.assert_array_equal(cli9.view(np.uint32), mine.view(np.uint32))


if __name__ == "__main__":
    unittest.main()
