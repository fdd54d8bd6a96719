"""ctypes binding of libbackprop: finding the library, the mirrored structs,
the function prototypes and the error mapping.

The structs below mirror include/backprop.h field for field.  Each
caller-allocated struct starts with `size`, which we set to our own
ctypes.sizeof through the library's exported *_init functions: the library
accepts any size that covers its first versioned layout and reads only the
fields it knows, so a newer library (with fields added at the end) still
works with this package.  python/tests/test_abi.py compares these sizes with
the C compiler's.
"""
import ctypes
import ctypes.util
import os

c_float_p = ctypes.POINTER(ctypes.c_float)
c_size_t = ctypes.c_size_t


class LayerSpec(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("units", ctypes.c_int), ("act", ctypes.c_int),
                ("bias", ctypes.c_int), ("slope", ctypes.c_float)]


class CsvOptions(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("header", ctypes.c_int), ("delimiter", ctypes.c_char),
                ("target", ctypes.c_char_p), ("task", ctypes.c_int),
                ("n_classes", ctypes.c_int), ("id", ctypes.c_char_p)]


class EpochReport(ctypes.Structure):
    _fields_ = [("trainer", ctypes.c_void_p), ("epoch", ctypes.c_int),
                ("epochs", ctypes.c_int), ("in_epoch", ctypes.c_int),
                ("batch", c_size_t), ("batches", c_size_t), ("seconds", ctypes.c_double),
                ("samples_per_s", ctypes.c_double), ("learning_rate", ctypes.c_float),
                ("train_loss", ctypes.c_double), ("train_accuracy", ctypes.c_double),
                ("val_loss", ctypes.c_double), ("val_accuracy", ctypes.c_double),
                ("improved", ctypes.c_int)]


PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(EpochReport), ctypes.c_void_p)


class TrainOptions(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("epochs", ctypes.c_int), ("batch_size", ctypes.c_int),
                ("learning_rate", ctypes.c_float), ("optimizer", ctypes.c_int),
                ("momentum", ctypes.c_float), ("beta1", ctypes.c_float),
                ("beta2", ctypes.c_float), ("eps", ctypes.c_float), ("rho", ctypes.c_float),
                ("weight_decay", ctypes.c_float), ("dropout", ctypes.c_float),
                ("schedule", ctypes.c_int), ("step_every", ctypes.c_int),
                ("step_gamma", ctypes.c_float), ("min_lr", ctypes.c_float),
                ("warmup_epochs", ctypes.c_int), ("clip_norm", ctypes.c_float),
                ("patience", ctypes.c_int), ("seed", ctypes.c_uint64),
                ("threads", ctypes.c_int), ("shuffle", ctypes.c_int),
                ("rprop_increase", ctypes.c_float), ("rprop_decrease", ctypes.c_float),
                ("rprop_delta_min", ctypes.c_float), ("rprop_delta_max", ctypes.c_float),
                ("rprop_delta_zero", ctypes.c_float),
                # a plain pointer: the Trainer keeps the CFUNCTYPE object alive
                ("progress", ctypes.c_void_p), ("progress_user", ctypes.c_void_p),
                ("report_every", c_size_t),
                ("min_delta", ctypes.c_float), ("flat_spot", ctypes.c_float),
                ("shards", ctypes.c_int), ("device", ctypes.c_int),
                ("device_index", ctypes.c_int), ("precision", ctypes.c_int)]


class Metrics(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("rows", c_size_t), ("loss", ctypes.c_double),
                ("classes", ctypes.c_int), ("accuracy", ctypes.c_double),
                ("precision", ctypes.POINTER(ctypes.c_double)),
                ("recall", ctypes.POINTER(ctypes.c_double)),
                ("f1", ctypes.POINTER(ctypes.c_double)),
                ("confusion", ctypes.POINTER(c_size_t)),
                ("mse", ctypes.c_double), ("mae", ctypes.c_double), ("r2", ctypes.c_double)]


# status codes (enum bp_status)
OK, ERR_ARG, ERR_NOMEM, ERR_IO, ERR_PARSE, ERR_FORMAT, ERR_SHAPE, ERR_NUMERIC, \
    ERR_UNSUPPORTED, ERR_INTERRUPTED = range(10)


class BackpropError(Exception):
    """A failure reported by libbackprop; str() is the library's bp_errmsg()."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class BackpropValueError(BackpropError, ValueError):
    """Bad argument, malformed file or data, mismatched shapes, NaN/Inf."""


class BackpropIOError(BackpropError, OSError):
    """A file could not be opened, read or written."""


class BackpropMemoryError(BackpropError, MemoryError):
    """An allocation failed or a size would overflow."""


class BackpropUnsupportedError(BackpropError, NotImplementedError):
    """A valid request this build of the library cannot do."""


class TrainingInterrupted(BackpropError):
    """A callback (or request_stop) stopped training; the net holds the last weights."""


_ERROR_CLASS = {ERR_ARG: BackpropValueError, ERR_PARSE: BackpropValueError,
                ERR_FORMAT: BackpropValueError, ERR_SHAPE: BackpropValueError,
                ERR_NUMERIC: BackpropValueError, ERR_IO: BackpropIOError,
                ERR_NOMEM: BackpropMemoryError, ERR_UNSUPPORTED: BackpropUnsupportedError,
                ERR_INTERRUPTED: TrainingInterrupted}


def _candidates():
    """Where to look for libbackprop.so, in order (see README, "Python")."""
    env = os.environ.get("BACKPROP_LIB")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "libbackprop.so")
    # a source checkout: python/backprop/ → build/
    yield os.path.join(here, "..", "..", "build", "libbackprop.so")
    try:
        from . import _installed  # written by `make install-python`
        yield _installed.LIBRARY
    except ImportError:
        pass
    found = ctypes.util.find_library("backprop")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (not found)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("backprop: cannot load libbackprop.so; tried " +
                      (", ".join(tried) or "nothing") +
                      ". Build it with `make`, or set BACKPROP_LIB to its path.")


lib, LIBRARY_PATH = _load()

_P = ctypes.c_void_p
_I = ctypes.c_int
_F = ctypes.c_float
_S = ctypes.c_char_p

# name: (restype, argtypes).  Pointers to float arrays are passed as c_void_p
# (a numpy array's address): cheaper per call than POINTER(c_float).
_PROTOS = {
    "bp_version": (_S, []),
    "bp_errmsg": (_S, []),
    "bp_status_string": (_S, [_I]),
    "bp_activation_parse": (_I, [_S, ctypes.POINTER(_I)]),
    "bp_activation_name": (_S, [_I]),
    "bp_loss_parse": (_I, [_S, ctypes.POINTER(_I)]),
    "bp_loss_name": (_S, [_I]),
    "bp_init_parse": (_I, [_S, ctypes.POINTER(_I)]),
    "bp_optimizer_parse": (_I, [_S, ctypes.POINTER(_I)]),
    "bp_optimizer_name": (_S, [_I]),
    "bp_schedule_parse": (_I, [_S, ctypes.POINTER(_I)]),
    "bp_scaling_parse": (_I, [_S, ctypes.POINTER(_I)]),
    "bp_layer_spec_init": (None, [ctypes.POINTER(LayerSpec), c_size_t]),
    "bp_csv_options_init": (None, [ctypes.POINTER(CsvOptions), c_size_t]),
    "bp_train_options_init": (None, [ctypes.POINTER(TrainOptions), c_size_t]),
    "bp_metrics_init_size": (None, [ctypes.POINTER(Metrics), c_size_t]),
    "bp_metrics_clear": (None, [ctypes.POINTER(Metrics)]),
    "bp_net_create": (_I, [ctypes.POINTER(_P), _I, _I, ctypes.POINTER(LayerSpec), _I]),
    "bp_net_free": (None, [_P]),
    "bp_net_clone": (_I, [_P, ctypes.POINTER(_P)]),
    "bp_net_init": (_I, [_P, _I, ctypes.c_uint64]),
    "bp_net_inputs": (_I, [_P]),
    "bp_net_outputs": (_I, [_P]),
    "bp_net_layers": (_I, [_P]),
    "bp_net_layer": (LayerSpec, [_P, _I]),
    "bp_net_fan_in": (_I, [_P, _I]),
    "bp_net_loss": (_I, [_P]),
    "bp_net_param_count": (c_size_t, [_P]),
    "bp_net_weights": (_P, [_P, _I]),
    "bp_net_biases": (_P, [_P, _I]),
    "bp_net_params": (_P, [_P]),
    "bp_net_set_scaling": (_I, [_P, _P, _P]),
    "bp_net_scaling": (_I, [_P, ctypes.POINTER(_P), ctypes.POINTER(_P)]),
    "bp_net_set_meta": (_I, [_P, _S, _S]),
    "bp_net_get_meta": (_S, [_P, _S]),
    "bp_net_meta_count": (_I, [_P]),
    "bp_net_meta_at": (None, [_P, _I, ctypes.POINTER(_S), ctypes.POINTER(_S)]),
    "bp_net_set_task": (_I, [_P, _I]),
    "bp_net_task": (_I, [_P]),
    "bp_net_set_classes": (_I, [_P, _I, _P]),
    "bp_net_classes": (_I, [_P]),
    "bp_net_class_name": (_S, [_P, _I]),
    "bp_net_set_input_names": (_I, [_P, _P]),
    "bp_net_input_name": (_S, [_P, _I]),
    "bp_net_save": (_I, [_P, _S]),
    "bp_net_save_onnx": (_I, [_P, _S]),
    "bp_net_save_c": (_I, [_P, _S, _S]),
    "bp_net_load_any": (_I, [ctypes.POINTER(_P), _S]),
    "bp_net_write_text": (_I, [_P, _P, _S]),
    "bp_net_fit_scaling": (_I, [_P, _P, _I]),
    "bp_workspace_create": (_I, [ctypes.POINTER(_P), _P, _I, _I]),
    "bp_workspace_free": (None, [_P]),
    "bp_predict": (_I, [_P, _P, _P, c_size_t, _P]),
    "bp_dataset_create": (_I, [ctypes.POINTER(_P), c_size_t, _I, _I]),
    "bp_dataset_free": (None, [_P]),
    "bp_dataset_rows": (c_size_t, [_P]),
    "bp_dataset_inputs": (_I, [_P]),
    "bp_dataset_outputs": (_I, [_P]),
    "bp_dataset_x": (_P, [_P]),
    "bp_dataset_y": (_P, [_P]),
    "bp_dataset_classes": (_I, [_P]),
    "bp_dataset_labels": (_P, [_P]),
    "bp_dataset_set_labels": (_I, [_P, _P, _I]),
    "bp_dataset_class_name": (_S, [_P, _I]),
    "bp_dataset_check_finite": (_I, [_P, _S]),
    "bp_dataset_read_csv": (_I, [ctypes.POINTER(_P), _S, ctypes.POINTER(CsvOptions)]),
    "bp_dataset_read_fann": (_I, [ctypes.POINTER(_P), _S]),
    "bp_dataset_read_idx": (_I, [ctypes.POINTER(_P), _S, _S]),
    "bp_dataset_split": (_I, [_P, ctypes.c_double, ctypes.c_uint64, ctypes.POINTER(_P),
                              ctypes.POINTER(_P)]),
    "bp_trainer_create": (_I, [ctypes.POINTER(_P), _P, ctypes.POINTER(TrainOptions)]),
    "bp_trainer_free": (None, [_P]),
    "bp_trainer_run": (_I, [_P, _P, _P]),
    "bp_trainer_epoch": (_I, [_P]),
    "bp_trainer_set_progress": (None, [_P, _P, _P, c_size_t]),
    "bp_trainer_set_epochs": (None, [_P, _I]),
    "bp_trainer_request_stop": (None, [_P]),
    "bp_checkpoint_save": (_I, [_P, _S]),
    "bp_checkpoint_load": (_I, [_S, ctypes.POINTER(_P), ctypes.POINTER(_P)]),
    "bp_evaluate": (_I, [_P, _P, _I, ctypes.POINTER(Metrics)]),
    "bp_explain_step": (_I, [_P, _P, _P, _F, _I, _P]),
}

for _name, (_res, _args) in _PROTOS.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args

VERSION = lib.bp_version().decode()


def errmsg():
    return lib.bp_errmsg().decode("utf-8", "replace")


def error(status):
    """The exception for a failed call, carrying bp_errmsg()."""
    msg = errmsg() or lib.bp_status_string(status).decode()
    return _ERROR_CLASS.get(status, BackpropError)(status, msg)


def check(status):
    if status != OK:
        raise error(status)


def parse_enum(fn, name, what):
    """Name → enum value through the library's parser (its message lists the choices)."""
    if isinstance(name, int):
        return name
    out = ctypes.c_int()
    st = fn(str(name).encode(), ctypes.byref(out))
    if st != OK:
        raise error(st)
    return out.value
