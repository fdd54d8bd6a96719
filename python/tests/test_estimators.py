"""MLPClassifier / MLPRegressor: scikit-learn's estimator checks, model
selection on the shipped iris, partial_fit, pickling, and the numpy-only
fallback without scikit-learn."""
import os
import pickle
import subprocess
import sys
import unittest
import warnings

import util
import numpy as np
from backprop import MLPClassifier, MLPRegressor

try:
    import sklearn  # noqa: F401
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False


@unittest.skipUnless(HAVE_SKLEARN, "python3-sklearn not installed")
class SklearnChecks(unittest.TestCase):
    def run_checks(self, est):
        from sklearn.utils.estimator_checks import check_estimator
        failed, ran, skipped = [], 0, []
        for e, check in check_estimator(est, generate_only=True):
            name = getattr(check, "func", check).__name__
            if name in est._xfail:
                skipped.append(name)
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    check(e)
                ran += 1
            except unittest.SkipTest as s:  # e.g. pandas not installed
                skipped.append("%s (%s)" % (name, s))
            except Exception as ex:
                failed.append("%s: %s: %s" % (name, type(ex).__name__, str(ex)[:300]))
        self.assertFalse(failed, "\n".join(failed))
        self.assertGreater(ran, 30)

    def test_classifier_checks(self):
        self.run_checks(MLPClassifier(max_iter=100))

    def test_regressor_checks(self):
        self.run_checks(MLPRegressor(max_iter=100))

    def test_cross_val_score_and_grid_search_on_iris(self):
        from sklearn.model_selection import GridSearchCV, cross_val_score
        X, y = util.iris()
        clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=300,
                            random_state=0)
        scores = cross_val_score(clf, X, y, cv=5)
        self.assertEqual(len(scores), 5)
        self.assertGreater(scores.mean(), 0.9, scores)
        gs = GridSearchCV(clf, {"hidden_layer_sizes": [(4,), (16,)],
                                "activation": ["tanh", "relu"]}, cv=3).fit(X, y)
        self.assertGreater(gs.best_score_, 0.9)
        self.assertIn(gs.best_params_["activation"], ("tanh", "relu"))
        self.assertEqual(set(gs.predict(X)), set(y))


class Estimators(unittest.TestCase):
    def test_classifier_attributes(self):
        X, y = util.iris()
        clf = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=50,
                            n_iter_no_change=1000, random_state=1).fit(X, y)
        self.assertEqual(list(clf.classes_), sorted(set(y)))
        self.assertEqual(clf.n_iter_, 50)
        self.assertEqual(len(clf.loss_curve_), 50)
        self.assertLess(clf.loss_curve_[-1], clf.loss_curve_[0])
        p = clf.predict_proba(X)
        self.assertEqual(p.shape, (150, 3))
        np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
        self.assertEqual(clf.get_params()["hidden_layer_sizes"], (8,))
        # same random_state, same bits
        clf2 = MLPClassifier(**clf.get_params()).fit(X, y)
        np.testing.assert_array_equal(clf.predict_proba(X), clf2.predict_proba(X))

    def test_partial_fit_and_pickle(self):
        X, y = util.iris()
        clf = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01, random_state=0)
        with self.assertRaisesRegex(ValueError, "classes"):
            clf.partial_fit(X, y)
        for i in range(5):
            clf.partial_fit(X, y, classes=np.unique(y))
        self.assertEqual(clf.n_iter_, 5)
        self.assertEqual(len(clf.loss_curve_), 5)
        copy = pickle.loads(pickle.dumps(clf))
        np.testing.assert_array_equal(clf.predict_proba(X), copy.predict_proba(X))
        # the optimizer state travels too: both continue identically
        clf.partial_fit(X, y)
        copy.partial_fit(X, y)
        np.testing.assert_array_equal(clf.predict_proba(X), copy.predict_proba(X))
        with self.assertRaisesRegex(ValueError, "features"):
            clf.partial_fit(X[:, :3], y)

    def test_regressor_multi_output(self):
        X, _ = util.iris()
        reg = MLPRegressor(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=200,
                           random_state=0).fit(X[:, :2], X[:, 2:])
        self.assertEqual(reg.predict(X[:, :2]).shape, (150, 2))
        self.assertGreater(reg.score(X[:, :2], X[:, 2:]), 0.5)
        reg.fit(X[:, :2], X[:, 2])
        self.assertEqual(reg.predict(X[:, :2]).shape, (150,))

    def test_fallback_without_sklearn(self):
        code = ("import sys; sys.modules['sklearn'] = None\n"
                "sys.path.insert(0, %r)\n"
                "import util\n"
                "from backprop import MLPClassifier, estimators\n"
                "assert not estimators.HAVE_SKLEARN\n"
                "X, y = util.iris()\n"
                "c = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01,"
                " max_iter=200, random_state=0)\n"
                "c.set_params(activation='tanh')\n"
                "assert c.get_params()['activation'] == 'tanh'\n"
                "s = c.fit(X, y).score(X, y)\n"
                "assert s > 0.9, s\n"
                "try:\n"
                "    MLPClassifier().predict(X)\n"
                "except ValueError as e:\n"
                "    assert 'not fitted' in str(e)\n"
                "else:\n"
                "    raise AssertionError('no error before fit')\n"
                "print('ok')\n") % util.HERE
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=dict(os.environ))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "ok")


if __name__ == "__main__":
    unittest.main()
