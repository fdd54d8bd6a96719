"""scikit-learn-style estimators: MLPClassifier and MLPRegressor.

With scikit-learn importable they derive from sklearn.base.BaseEstimator and
the classifier/regressor mixins (clone, GridSearchCV, cross_val_score, pickle,
sklearn's input validation); without it a small fallback gives the same
get_params/set_params/score, so the package needs only numpy."""
import inspect
import os
import tempfile

import numpy as np

from .core import Net, Dataset, Trainer

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted
    try:  # scikit-learn ≥ 1.6
        from sklearn.utils.validation import validate_data as _sk_validate
    except ImportError:
        _sk_validate = None
    HAVE_SKLEARN = True
except ImportError:  # the fallback: numpy only
    HAVE_SKLEARN = False
    _sk_validate = None

    class NotFittedError(ValueError, AttributeError):
        """The estimator is used before fit."""

    class BaseEstimator:
        @classmethod
        def _get_param_names(cls):
            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values()
                          if p.name != "self" and p.kind != p.VAR_KEYWORD)

        def get_params(self, deep=True):
            return {k: getattr(self, k) for k in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for k, v in params.items():
                if k not in valid:
                    raise ValueError("invalid parameter %r for estimator %s; valid parameters: "
                                     "%s" % (k, type(self).__name__, ", ".join(valid)))
                setattr(self, k, v)
            return self

        def __repr__(self):
            args = ", ".join("%s=%r" % kv for kv in self.get_params().items())
            return "%s(%s)" % (type(self).__name__, args)

    class ClassifierMixin:
        _estimator_type = "classifier"

        def score(self, X, y):
            return float(np.mean(self.predict(X) == np.asarray(y)))

    class RegressorMixin:
        _estimator_type = "regressor"

        def score(self, X, y):
            y = np.asarray(y, dtype=np.float64)
            p = np.asarray(self.predict(X), dtype=np.float64).reshape(y.shape)
            ss_res = ((y - p) ** 2).sum(axis=0)
            ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                r2 = np.where(ss_tot > 0, 1 - ss_res / ss_tot, 0.0)
            return float(np.mean(r2))

    def check_classification_targets(y):
        if y.dtype.kind == "f" and np.any(y != np.round(y)):
            raise ValueError("Unknown label type: continuous targets given to a classifier")

    def check_is_fitted(est, attributes=None):
        if not hasattr(est, "net_"):
            raise NotFittedError("This %s instance is not fitted yet. Call 'fit' first."
                                 % type(est).__name__)

# scikit-learn's activation names, and the library's own
_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                "linear": "linear", "sigmoid": "sigmoid", "leaky_relu": "leaky_relu"}


_NO_Y = "no_validation"  # scikit-learn's marker for "validate X only"


def _check_array(X, name="X"):
    """Numpy-only validation (without scikit-learn): 2-D, numeric, finite, non-empty."""
    X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError("%s must be numeric" % name) from None
    if X.ndim != 2:
        raise ValueError("Expected 2D array for %s, got shape %s" % (name, X.shape))
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError("%s is empty: shape %s" % (name, X.shape))
    if not np.all(np.isfinite(X)):
        raise ValueError("%s contains NaN or infinity" % name)
    return X


class _BaseMLP(BaseEstimator):
    """Parameters shared by both estimators (names as in sklearn.neural_network).

    hidden_layer_sizes  units of each hidden layer
    activation          identity, logistic, tanh, relu (or leaky_relu)
    solver              the library's optimizer: adam, sgd, momentum, nesterov,
                        adamw, rmsprop, rprop
    alpha               L2 penalty (the library's weight_decay)
    batch_size          rows per batch, "auto" = min(200, n_samples)
    learning_rate_init  η
    max_iter            epochs
    tol, n_iter_no_change   stop when the loss has not improved by tol for
                        n_iter_no_change epochs (training loss, or validation
                        loss with early_stopping)
    early_stopping, validation_fraction   hold out this fraction and keep the
                        best weights on it
    scaling             input scaling stored in the model: standard, minmax, none
    random_state        None, an int or a RandomState: initial weights and shuffles
    threads             the library's worker threads (results do not depend on it)
    """

    _xfail = {}

    def _more_tags(self):  # scikit-learn < 1.6
        return {"non_deterministic": False, "allow_nan": False}

    def __sklearn_tags__(self):  # scikit-learn ≥ 1.6 (the defaults, NaN refused)
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def _init_name(self, act):
        return "he" if act in ("relu", "leaky_relu") else "xavier"

    def _seed(self):
        rs = self.random_state
        if rs is None:
            return int(np.random.randint(0, 2**31 - 1))
        if isinstance(rs, (int, np.integer)):
            return int(rs)
        return int(rs.randint(0, 2**31 - 1))  # a RandomState

    def _validate(self, X, y=_NO_Y, reset=True):
        if HAVE_SKLEARN:
            kw = dict(dtype=[np.float32, np.float64], reset=reset)
            if y is not _NO_Y:
                kw.update(multi_output=self._multi_output, y_numeric=self._y_numeric)
                args = (X, y)
            else:
                args = (X,)
            if _sk_validate is not None:
                return _sk_validate(self, *args, **kw)
            return self._validate_data(*args, **kw)
        X = _check_array(X)
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError("X has %d features, but %s is expecting %d features as input"
                             % (X.shape[1], type(self).__name__, self.n_features_in_))
        if y is _NO_Y:
            return X
        if y is None:
            raise ValueError("%s requires y to be passed, but the target y is None"
                             % type(self).__name__)
        y = np.asarray(y)
        if y.shape[0] != X.shape[0]:
            raise ValueError("X has %d rows but y has %d" % (X.shape[0], y.shape[0]))
        if self._y_numeric:
            y = y.astype(np.float64)
            if not np.all(np.isfinite(y)):
                raise ValueError("y contains NaN or infinity")
        return X, y

    def _hidden(self):
        h = self.hidden_layer_sizes
        h = [h] if isinstance(h, (int, np.integer)) else list(h)
        if any(int(u) < 1 for u in h):
            raise ValueError("hidden_layer_sizes must be positive, got %r"
                             % (self.hidden_layer_sizes,))
        return [int(u) for u in h]

    def _options(self, n_rows, partial):
        if self.batch_size == "auto":
            bs = min(200, n_rows)
        else:
            bs = int(self.batch_size)
            if bs < 1:
                raise ValueError("batch_size must be >= 1 or 'auto', got %r" % (self.batch_size,))
            bs = min(bs, n_rows)
        if int(self.max_iter) < 1:
            raise ValueError("max_iter must be >= 1, got %r" % (self.max_iter,))
        return dict(epochs=int(self.max_iter), batch_size=bs,
                    learning_rate=float(self.learning_rate_init), optimizer=self.solver,
                    weight_decay=float(self.alpha), seed=self._seed(),
                    patience=0 if partial else int(self.n_iter_no_change),
                    min_delta=float(self.tol), threads=int(self.threads),
                    shuffle=1 if self.shuffle else 0)

    def _build_net(self, n_in, n_out):
        act = _ACTIVATIONS.get(self.activation)
        if act is None:
            raise ValueError("activation must be one of %s, got %r"
                             % (", ".join(sorted(_ACTIVATIONS)), self.activation))
        out_act, loss = self._output()
        layers = [(u, act) for u in self._hidden()] + [(n_out, out_act)]
        return Net(n_in, layers, loss=loss, init=self._init_name(act), seed=self._seed())

    def _train(self, X, targets, partial):
        """Build (first time), scale and train; targets is (y, classes) for Dataset."""
        ds = Dataset(X, *targets)
        fresh = not partial or not hasattr(self, "net_")
        if fresh:
            net = self._build_net(X.shape[1], self._n_outputs)
            net.fit_scaling(ds, self.scaling)
            self._set_schema(net)
            self._trainer = None
            self.loss_curve_ = []
        else:
            net = self.net_
        val = None
        if partial:
            if getattr(self, "_trainer", None) is None or not self._trainer_partial:
                self._trainer = Trainer(net, **self._options(len(X), True))
                self._trainer_partial = True
            tr = self._trainer
            hist = tr.run(ds, epochs=tr.epoch + 1)
        else:
            opts = self._options(len(X), False)
            if self.early_stopping:
                if not 0 < self.validation_fraction < 1:
                    raise ValueError("validation_fraction must be in (0, 1), got %r"
                                     % (self.validation_fraction,))
                ds, val = ds.split(self.validation_fraction, opts["seed"])
            tr = Trainer(net, **opts)
            hist = tr.run(ds, val)
            self._trainer, self._trainer_partial = tr, False
        self.net_ = net
        self.loss_curve_ = list(self.loss_curve_) + [h["train_loss"] for h in hist]
        if val is not None:
            self.validation_scores_ = [h["val_loss"] for h in hist]
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else float("nan")
        self.n_iter_ = tr.epoch
        self.t_ = self.n_iter_ * len(X)
        return self

    def _set_schema(self, net):
        """Record what the CLI needs to read this model's data and name its outputs."""
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            net.set_input_names(list(names))
        if hasattr(self, "classes_"):
            net.set_classes(self.classes_)
        else:
            net.task = "regression"

    def _forward(self, X):
        check_is_fitted(self, "net_")
        X = self._validate(X, reset=False)
        return self.net_.predict(X)

    # pickling: the net as model-file bytes, the trainer (for partial_fit) as a checkpoint
    def __getstate__(self):
        base = getattr(super(), "__getstate__", None)
        state = dict(base() if base else self.__dict__)
        state.pop("_trainer", None)
        net = state.pop("net_", None)
        if net is not None:
            # only partial_fit's trainer has state worth keeping (fit's run is over)
            tr = getattr(self, "_trainer", None) if getattr(self, "_trainer_partial", False) \
                else None
            if tr is not None:
                with tempfile.TemporaryDirectory() as d:
                    p = os.path.join(d, "trainer.bpc")
                    tr.save_checkpoint(p)
                    with open(p, "rb") as f:
                        state["_checkpoint_bytes"] = f.read()
            else:
                state["_net_bytes"] = net.to_bytes()
        return state

    def __setstate__(self, state):
        state = dict(state)
        ck = state.pop("_checkpoint_bytes", None)
        nb = state.pop("_net_bytes", None)
        base = getattr(super(), "__setstate__", None)
        if base:
            base(state)
        else:
            self.__dict__.update(state)
        if ck is not None:
            with tempfile.TemporaryDirectory() as d:
                p = os.path.join(d, "trainer.bpc")
                with open(p, "wb") as f:
                    f.write(ck)
                self._trainer = Trainer.load_checkpoint(p)
            self.net_ = self._trainer.net
        elif nb is not None:
            self.net_ = Net.from_bytes(nb)
            self._trainer = None


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multi-layer perceptron classifier trained by libbackprop: softmax
    output over the classes, cross-entropy loss.  Parameters: see _BaseMLP."""
    _multi_output = False
    _y_numeric = False

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation_fraction=0.1, scaling="standard", threads=1):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.scaling = scaling
        self.threads = threads

    def _output(self):
        return "softmax", "xent"

    def _labels(self, y, classes=None):
        check_classification_targets(y)
        if classes is not None:
            self.classes_ = np.unique(np.asarray(classes))
        elif not hasattr(self, "classes_") or not hasattr(self, "net_"):
            self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("MLPClassifier needs samples of at least 2 classes in the data, "
                             "but the data contains only one class: %r" % (self.classes_[0],))
        idx = np.searchsorted(self.classes_, y)
        bad = (idx >= len(self.classes_)) | (self.classes_[np.minimum(
            idx, len(self.classes_) - 1)] != y)
        if np.any(bad):
            raise ValueError("y contains labels not in classes %r: %r"
                             % (list(self.classes_), list(np.unique(np.asarray(y)[bad]))))
        self._n_outputs = len(self.classes_)
        return idx.astype(np.int32)

    def fit(self, X, y):
        X, y = self._validate(X, y, reset=True)
        if hasattr(self, "net_"):
            del self.net_
        idx = self._labels(y)
        return self._train(X, (idx, len(self.classes_)), partial=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), continuing from the current weights and
        optimizer state; `classes` is required on the first call."""
        first = not hasattr(self, "net_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        if not first and classes is not None and not np.array_equal(
                np.unique(np.asarray(classes)), self.classes_):
            raise ValueError("classes=%r is not the same as on the first call to partial_fit "
                             "(%r)" % (classes, list(self.classes_)))
        X, y = self._validate(X, y, reset=first)
        idx = self._labels(y, classes if first else None)
        return self._train(X, (idx, len(self.classes_)), partial=True)

    def predict_proba(self, X):
        """Class probabilities [rows][classes] (the softmax output, exact float32 values)."""
        return self._forward(X).astype(np.float64)

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        p = self._forward(X)  # NotFittedError before classes_ is looked at
        return self.classes_[np.argmax(p, axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multi-layer perceptron regressor trained by libbackprop: linear output,
    squared-error loss.  Parameters: see _BaseMLP."""
    _multi_output = True
    _y_numeric = True

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation_fraction=0.1, scaling="standard", threads=1):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.scaling = scaling
        self.threads = threads

    def _output(self):
        return "linear", "mse"

    # scikit-learn estimator checks that do not apply, with the reason
    _xfail = {"check_methods_subset_invariance":
              "float32 predictions can differ by an ulp between batch sizes: the "
              "library's SIMD kernels block rows differently (classifier outputs pass "
              "within the check's 1e-7 tolerance; regression outputs near 0 do not)"}

    def _more_tags(self):  # scikit-learn < 1.6
        return dict(super()._more_tags(), multioutput=True, _xfail_checks=self._xfail)

    def __sklearn_tags__(self):  # scikit-learn ≥ 1.6
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _targets(self, y):
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1
        y2 = y.reshape(len(y), -1)
        self._n_outputs = y2.shape[1]
        return y2

    def fit(self, X, y):
        X, y = self._validate(X, y, reset=True)
        if hasattr(self, "net_"):
            del self.net_
        return self._train(X, (self._targets(y), None), partial=False)

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing from the current weights."""
        first = not hasattr(self, "net_")
        X, y = self._validate(X, y, reset=first)
        y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if not first and y2.shape[1] != self._n_outputs:
            raise ValueError("y has %d outputs but the model was fitted with %d"
                             % (y2.shape[1], self._n_outputs))
        if first:
            y2 = self._targets(y)
        return self._train(X, (y2, None), partial=True)

    def predict(self, X):
        out = self._forward(X).astype(np.float64)
        return out.ravel() if self._y_1d else out
