"""backprop: feed-forward neural networks from libbackprop, through ctypes.

    from backprop import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0)
    clf.fit(X, y).score(X, y)

Low level: Net, Dataset, Trainer.  Errors are BackpropError (with the
library's message) or a subclass that is also a ValueError/OSError/….
The library is found through $BACKPROP_LIB, beside this package, a source
tree's build/, the path `make install-python` recorded, then the system.
"""
from ._lib import (BackpropError, BackpropValueError, BackpropIOError, BackpropMemoryError,
                   BackpropUnsupportedError, TrainingInterrupted, VERSION as __version__,
                   LIBRARY_PATH)
from .core import Net, Dataset, Trainer, Layer, train_options
from .estimators import MLPClassifier, MLPRegressor

__all__ = ["Net", "Dataset", "Trainer", "Layer", "train_options", "MLPClassifier",
           "MLPRegressor", "BackpropError", "BackpropValueError", "BackpropIOError",
           "BackpropMemoryError", "BackpropUnsupportedError", "TrainingInterrupted",
           "LIBRARY_PATH"]
