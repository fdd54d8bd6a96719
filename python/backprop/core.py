"""The low-level objects: Net, Dataset, Trainer (thin owners of the C objects)."""
import ctypes
import functools
import os
import signal
import tempfile
import threading

import numpy as np

from . import _lib
from ._lib import lib, check, LayerSpec, TrainOptions, Metrics, PROGRESS_FN

_f32 = np.dtype(np.float32)


def _as_f32(a, ndim=None, name="X"):
    """a as a C-contiguous float32 array; no copy when it already is one."""
    a = np.asarray(a)
    if a.dtype != _f32 or not a.flags.c_contiguous:
        if a.dtype.kind not in "fiub":
            try:
                a = a.astype(np.float64)
            except (TypeError, ValueError) as e:
                raise ValueError("%s must be numeric: %s" % (name, e)) from None
        a = np.ascontiguousarray(a, dtype=_f32)
    if ndim is not None and a.ndim != ndim:
        raise ValueError("%s must be %d-dimensional, got shape %s" % (name, ndim, a.shape))
    return a


def _view(addr, shape, owner):
    """A float32 numpy view of C memory at addr that keeps `owner` alive."""
    n = int(np.prod(shape)) if len(shape) else 1
    if not addr or n == 0:
        return np.zeros(shape, dtype=_f32)
    buf = (ctypes.c_float * n).from_address(addr)
    buf._owner = owner  # the view's base chain holds buf, buf holds the owner
    return np.frombuffer(buf, dtype=_f32).reshape(shape)


def _enum(fn, value, what):
    return _lib.parse_enum(fn, value, what)


class Layer(tuple):
    """(units, activation, bias, slope, fan_in) of one dense layer."""
    __slots__ = ()
    _names = ("units", "activation", "bias", "slope", "fan_in")

    def __new__(cls, *values):
        return tuple.__new__(cls, values)

    def __getattr__(self, name):
        try:
            return self[self._names.index(name)]
        except ValueError:
            raise AttributeError(name) from None

    def __repr__(self):
        return "Layer(%s)" % ", ".join("%s=%r" % kv for kv in zip(self._names, self))


# libc for the memory stream bp_explain_step writes into
_libc = ctypes.CDLL(None)
_libc.open_memstream.restype = ctypes.c_void_p
_libc.open_memstream.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t)]
_libc.fclose.argtypes = [ctypes.c_void_p]
_libc.free.argtypes = [ctypes.c_void_p]


class Net:
    """A feed-forward network: Net(inputs, [(units, "tanh"), (3, "softmax")], loss="xent").

    Layers are (units, activation[, bias[, slope]]) tuples or dicts with those
    keys.  Weights start from `init` seeded by `seed` (seed=None: zeros)."""

    def __init__(self, inputs, layers, loss="mse", init="xavier", seed=42):
        specs = (LayerSpec * len(layers))() if layers else (LayerSpec * 1)()
        for i, layer in enumerate(layers):
            if isinstance(layer, dict):
                units, act = layer["units"], layer.get("activation", "linear")
                bias, slope = layer.get("bias", True), layer.get("slope", None)
            else:
                layer = tuple(layer) if not isinstance(layer, int) else (layer,)
                units = layer[0]
                act = layer[1] if len(layer) > 1 else "linear"
                bias = layer[2] if len(layer) > 2 else True
                slope = layer[3] if len(layer) > 3 else None
            lib.bp_layer_spec_init(specs[i], ctypes.sizeof(LayerSpec))
            specs[i].units = int(units)
            specs[i].act = _enum(lib.bp_activation_parse, act, "activation")
            specs[i].bias = 1 if bias else 0
            if slope is not None:
                specs[i].slope = float(slope)
        ptr = ctypes.c_void_p()
        check(lib.bp_net_create(ctypes.byref(ptr), int(inputs), len(layers), specs,
                                _enum(lib.bp_loss_parse, loss, "loss")))
        self._adopt(ptr)
        if seed is not None:
            check(lib.bp_net_init(self._ptr, _enum(lib.bp_init_parse, init, "init"),
                                  int(seed) & 0xFFFFFFFFFFFFFFFF))

    def _adopt(self, ptr):
        if isinstance(ptr, ctypes.c_void_p):
            ptr = ptr.value
        self._ptr = ptr
        self._ws = None
        self._row = None
        self._ws_lock = threading.Lock()
        self._in = lib.bp_net_inputs(ptr)
        self._out = lib.bp_net_outputs(ptr)

    @classmethod
    def _wrap(cls, ptr):
        self = cls.__new__(cls)
        self._adopt(ptr)
        return self

    def __del__(self):
        ptr = getattr(self, "_ptr", None)
        if ptr:
            self._row = None
            if self._ws:
                lib.bp_workspace_free(self._ws)
                self._ws = None
            lib.bp_net_free(ptr)
            self._ptr = None

    # -- files -----------------------------------------------------------
    @classmethod
    def load(cls, path):
        """A binary model (.bpm) or text .net file, by content."""
        ptr = ctypes.c_void_p()
        check(lib.bp_net_load_any(ctypes.byref(ptr), os.fsencode(path)))
        return cls._wrap(ptr)

    def save(self, path):
        """Binary model file, written atomically."""
        check(lib.bp_net_save(self._ptr, os.fsencode(path)))

    def save_onnx(self, path):
        """ONNX (opset 13) file; Net.load reads it back (docs/export.md)."""
        check(lib.bp_net_save_onnx(self._ptr, os.fsencode(path)))

    def save_c(self, c_path, h_path=None):
        """Standalone C99 predict() (and its header, default: c_path with .h)."""
        if h_path is None:
            h_path = os.path.splitext(c_path)[0] + ".h"
        check(lib.bp_net_save_c(self._ptr, os.fsencode(c_path), os.fsencode(h_path)))

    def save_text(self, path):
        """Text .net file (every float with %.9g: reading it back gives the same bits)."""
        check(lib.bp_net_write_text(self._ptr, None, os.fsencode(path)))

    def to_bytes(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "model.bpm")
            self.save(p)
            with open(p, "rb") as f:
                return f.read()

    @classmethod
    def from_bytes(cls, data):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "model.bpm")
            with open(p, "wb") as f:
                f.write(data)
            return cls.load(p)

    def __getstate__(self):
        return {"model": self.to_bytes()}

    def __setstate__(self, state):
        other = Net.from_bytes(state["model"])
        self._adopt(other._ptr)
        other._ptr = None

    def clone(self):
        ptr = ctypes.c_void_p()
        check(lib.bp_net_clone(self._ptr, ctypes.byref(ptr)))
        return Net._wrap(ptr)

    # -- architecture ----------------------------------------------------
    @property
    def inputs(self):
        return self._in

    @property
    def outputs(self):
        return self._out

    @property
    def n_layers(self):
        return lib.bp_net_layers(self._ptr)

    @property
    def layers(self):
        out = []
        for i in range(self.n_layers):
            s = lib.bp_net_layer(self._ptr, i)
            out.append(Layer(s.units, lib.bp_activation_name(s.act).decode(), bool(s.bias),
                             s.slope, lib.bp_net_fan_in(self._ptr, i)))
        return out

    @property
    def loss(self):
        return lib.bp_loss_name(lib.bp_net_loss(self._ptr)).decode()

    @property
    def param_count(self):
        return lib.bp_net_param_count(self._ptr)

    def _layer_index(self, layer):
        n = self.n_layers
        if layer < 0:
            layer += n
        if not 0 <= layer < n:
            raise IndexError("layer %d out of range (the net has %d layers)" % (layer, n))
        return layer

    def weights(self, layer):
        """W of a layer, [units][fan_in], a writable view onto the net's memory."""
        layer = self._layer_index(layer)
        units = lib.bp_net_layer(self._ptr, layer).units
        return _view(lib.bp_net_weights(self._ptr, layer),
                     (units, lib.bp_net_fan_in(self._ptr, layer)), self)

    def biases(self, layer):
        """b of a layer, [units] (None without bias), a writable view."""
        layer = self._layer_index(layer)
        addr = lib.bp_net_biases(self._ptr, layer)
        if not addr:
            return None
        return _view(addr, (lib.bp_net_layer(self._ptr, layer).units,), self)

    @property
    def params(self):
        """All parameters, layer by layer W then b, as one writable view."""
        return _view(lib.bp_net_params(self._ptr), (self.param_count,), self)

    @property
    def scaling(self):
        """(shift, scale) copies, or None: x' = (x − shift)·scale."""
        shift, scale = ctypes.c_void_p(), ctypes.c_void_p()
        if not lib.bp_net_scaling(self._ptr, ctypes.byref(shift), ctypes.byref(scale)):
            return None
        n = self._in
        return (_view(shift.value, (n,), self).copy(), _view(scale.value, (n,), self).copy())

    def set_scaling(self, shift=None, scale=None):
        if shift is None and scale is None:
            check(lib.bp_net_set_scaling(self._ptr, None, None))
            return
        shift, scale = _as_f32(shift, 1, "shift"), _as_f32(scale, 1, "scale")
        if shift.shape != (self._in,) or scale.shape != (self._in,):
            raise ValueError("shift and scale need %d values each" % self._in)
        check(lib.bp_net_set_scaling(self._ptr, shift.ctypes.data, scale.ctypes.data))

    def fit_scaling(self, dataset, kind="standard"):
        check(lib.bp_net_fit_scaling(self._ptr, dataset._ptr,
                                     _enum(lib.bp_scaling_parse, kind, "scaling")))

    # the model's schema (kept in model files; the CLI maps data through it)
    @property
    def task(self):
        """"regression", "classification" or None (not recorded)."""
        return {1: "regression", 2: "classification"}.get(lib.bp_net_task(self._ptr))

    @task.setter
    def task(self, value):
        code = {None: 0, "regression": 1, "classification": 2}.get(value)
        if code is None:
            raise ValueError("task must be 'regression', 'classification' or None")
        check(lib.bp_net_set_task(self._ptr, code))

    @property
    def classes(self):
        """Class names in output order (None for an unnamed class), or None."""
        k = lib.bp_net_classes(self._ptr)
        if not k:
            return None
        names = [lib.bp_net_class_name(self._ptr, i) for i in range(k)]
        return [n.decode() if n is not None else None for n in names]

    def set_classes(self, names):
        """Record the classes (output k is class names[k]); sets the task."""
        names = [str(n).encode() for n in names]
        arr = (ctypes.c_char_p * len(names))(*names)
        check(lib.bp_net_set_classes(self._ptr, len(names), ctypes.cast(arr, ctypes.c_void_p)))

    @property
    def input_names(self):
        names = [lib.bp_net_input_name(self._ptr, i) for i in range(self._in)]
        return None if all(n is None for n in names) else [n.decode() if n else None
                                                           for n in names]

    def set_input_names(self, names):
        names = [str(n).encode() for n in names]
        if len(names) != self._in:
            raise ValueError("need %d input names, got %d" % (self._in, len(names)))
        arr = (ctypes.c_char_p * len(names))(*names)
        check(lib.bp_net_set_input_names(self._ptr, ctypes.cast(arr, ctypes.c_void_p)))

    @property
    def meta(self):
        out = {}
        k, v = ctypes.c_char_p(), ctypes.c_char_p()
        for i in range(lib.bp_net_meta_count(self._ptr)):
            lib.bp_net_meta_at(self._ptr, i, ctypes.byref(k), ctypes.byref(v))
            out[k.value.decode()] = v.value.decode()
        return out

    def set_meta(self, key, value):
        check(lib.bp_net_set_meta(self._ptr, str(key).encode(), str(value).encode()))

    # -- passes ----------------------------------------------------------
    def _workspace(self):
        if self._ws is None:
            ws = ctypes.c_void_p()
            check(lib.bp_workspace_create(ctypes.byref(ws), self._ptr, 256, 1))
            self._ws = ws.value
        return self._ws

    def _row_buffers(self):
        # One-row predictions go through fixed buffers whose addresses are
        # computed once: numpy's X.ctypes.data alone costs more than the C call.
        xin = np.empty(self._in, dtype=_f32)
        yout = np.empty(self._out, dtype=_f32)
        call = functools.partial(lib.bp_predict, ctypes.c_void_p(self._ptr),
                                 ctypes.c_void_p(self._workspace()),
                                 ctypes.c_void_p(xin.ctypes.data), ctypes.c_size_t(1),
                                 ctypes.c_void_p(yout.ctypes.data))
        self._row = (xin, yout, call)
        return self._row

    def predict(self, X, out=None):
        """Outputs for the rows of X ([rows][inputs] or one row), the net's
        scaling applied.  C-contiguous float32 input is read in place."""
        X = np.asarray(X)
        nd = X.ndim
        if nd == 1 or (nd == 2 and X.shape[0] == 1):
            if X.shape[-1] != self._in:
                raise ValueError("X has %d features per row but the net takes %d"
                                 % (X.shape[-1], self._in))
            with self._ws_lock:
                xin, yout, call = self._row or self._row_buffers()
                xin[...] = X[0] if nd == 2 else X  # converts to float32 as it copies
                st = call()
                if out is None:
                    res = yout.copy()
                elif (out.dtype == _f32 and out.flags.c_contiguous
                      and out.shape == ((self._out,) if nd == 1 else (1, self._out))):
                    res = out
                    out.reshape(-1)[...] = yout
                else:
                    res = None
            if st:
                raise _lib.error(st)
            if res is None:
                raise ValueError("out must be a C-contiguous float32 array of shape %s"
                                 % ((self._out,) if nd == 1 else (1, self._out),))
            return res if out is not None or nd == 1 else res.reshape(1, -1)
        if X.dtype != _f32 or not X.flags.c_contiguous:
            X = _as_f32(X)
        one = X.ndim == 1
        if one:
            X = X.reshape(1, -1)
        elif X.ndim != 2:
            raise ValueError("X must be 1- or 2-dimensional, got shape %s" % (X.shape,))
        rows = X.shape[0]
        if X.shape[1] != self._in:
            raise ValueError("X has %d features per row but the net takes %d"
                             % (X.shape[1], self._in))
        if out is None:
            out = np.empty((rows, self._out), dtype=_f32)
        elif out.dtype != _f32 or not out.flags.c_contiguous or out.shape != (rows, self._out):
            raise ValueError("out must be a C-contiguous float32 array of shape %s"
                             % ((rows, self._out),))
        with self._ws_lock:  # one workspace per net: one pass at a time
            st = lib.bp_predict(self._ptr, self._ws or self._workspace(), X.ctypes.data,
                                rows, out.ctypes.data)
        if st:
            raise _lib.error(st)
        return out[0] if one else out

    def evaluate(self, dataset, threads=1):
        """Metrics of the net on a Dataset, as a dict."""
        m = Metrics()
        lib.bp_metrics_init_size(ctypes.byref(m), ctypes.sizeof(Metrics))
        try:
            check(lib.bp_evaluate(self._ptr, dataset._ptr, int(threads), ctypes.byref(m)))
            res = {"rows": m.rows, "loss": m.loss}
            k = m.classes
            if k:
                res["accuracy"] = m.accuracy
                res["precision"] = np.array(m.precision[:k])
                res["recall"] = np.array(m.recall[:k])
                res["f1"] = np.array(m.f1[:k])
                res["confusion"] = np.array(m.confusion[:k * k]).reshape(k, k)
            else:
                res.update(mse=m.mse, mae=m.mae, r2=m.r2)
            return res
        finally:
            lib.bp_metrics_clear(ctypes.byref(m))

    def step(self, x, target, lr=0.5, format="text"):
        """One forward/backward/update on one sample, explained like the
        article; returns the trace and leaves the updated weights in the net."""
        x = _as_f32(x, 1, "x")
        t = _as_f32(target, 1, "target")
        if x.shape[0] != self._in or t.shape[0] != self._out:
            raise ValueError("step needs %d inputs and %d targets, got %d and %d"
                             % (self._in, self._out, x.shape[0], t.shape[0]))
        fmt = {"text": 0, "markdown": 1}.get(format)
        if fmt is None:
            raise ValueError("format must be 'text' or 'markdown', not %r" % (format,))
        buf, size = ctypes.c_void_p(), ctypes.c_size_t()
        fp = _libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
        if not fp:
            raise MemoryError("open_memstream failed")
        try:
            st = lib.bp_explain_step(self._ptr, x.ctypes.data, t.ctypes.data, float(lr), fmt, fp)
        finally:
            _libc.fclose(fp)
            text = ctypes.string_at(buf.value, size.value).decode("utf-8", "replace") \
                if buf.value else ""
            _libc.free(buf)
        check(st)
        return text

    def __repr__(self):
        return "Net(inputs=%d, layers=%r, loss=%r)" % (
            self._in, [(l.units, l.activation) for l in self.layers], self.loss)


class Dataset:
    """Inputs X [rows][inputs] and targets Y [rows][outputs] in the library's memory.

    Dataset(X, y): y of integer class labels with classes=K (or a 1-D y with
    classes=None for regression); Y 2-D for several outputs."""

    def __init__(self, X, y=None, classes=None):
        X = _as_f32(X, 2, "X")
        rows, n_in = X.shape
        labels = None
        if y is None:
            Y = None
            n_out = 0
        elif classes:
            labels = np.ascontiguousarray(y, dtype=np.int32).reshape(-1)
            if labels.shape[0] != rows:
                raise ValueError("y has %d rows but X has %d" % (labels.shape[0], rows))
            n_out = int(classes)
            Y = None
        else:
            Y = _as_f32(y, None, "y")
            if Y.ndim == 1:
                Y = Y.reshape(-1, 1)
            if Y.ndim != 2 or Y.shape[0] != rows:
                raise ValueError("y must have one row per row of X (%d), got shape %s"
                                 % (rows, Y.shape))
            n_out = Y.shape[1]
        ptr = ctypes.c_void_p()
        check(lib.bp_dataset_create(ctypes.byref(ptr), rows, n_in, n_out))
        self._ptr = ptr.value
        if rows:
            ctypes.memmove(lib.bp_dataset_x(self._ptr), X.ctypes.data, X.nbytes)
            if Y is not None:
                ctypes.memmove(lib.bp_dataset_y(self._ptr), Y.ctypes.data, Y.nbytes)
        if labels is not None:
            check(lib.bp_dataset_set_labels(self._ptr, labels.ctypes.data, int(classes)))

    @classmethod
    def _wrap(cls, ptr):
        self = cls.__new__(cls)
        self._ptr = ptr
        return self

    def __del__(self):
        if getattr(self, "_ptr", None):
            lib.bp_dataset_free(self._ptr)
            self._ptr = None

    @classmethod
    def read_csv(cls, path, target=None, header=None, task=None, n_classes=0):
        """task: None (detect), "regression" or "classification"."""
        o = _lib.CsvOptions()
        lib.bp_csv_options_init(ctypes.byref(o), ctypes.sizeof(o))
        if target is not None:
            tgt = str(target).encode()
            o.target = tgt
        if header is not None:
            o.header = 1 if header else 0
        if task is not None:
            o.task = {"regression": 0, "classification": 1}[task]
        o.n_classes = int(n_classes)
        ptr = ctypes.c_void_p()
        check(lib.bp_dataset_read_csv(ctypes.byref(ptr), os.fsencode(path), ctypes.byref(o)))
        return cls._wrap(ptr.value)

    @classmethod
    def read_fann(cls, path):
        ptr = ctypes.c_void_p()
        check(lib.bp_dataset_read_fann(ctypes.byref(ptr), os.fsencode(path)))
        return cls._wrap(ptr.value)

    @classmethod
    def read_idx(cls, images, labels=None):
        ptr = ctypes.c_void_p()
        check(lib.bp_dataset_read_idx(ctypes.byref(ptr), os.fsencode(images),
                                      os.fsencode(labels) if labels else None))
        return cls._wrap(ptr.value)

    @property
    def rows(self):
        return lib.bp_dataset_rows(self._ptr)

    def __len__(self):
        return self.rows

    @property
    def inputs(self):
        return lib.bp_dataset_inputs(self._ptr)

    @property
    def outputs(self):
        return lib.bp_dataset_outputs(self._ptr)

    @property
    def classes(self):
        return lib.bp_dataset_classes(self._ptr)

    @property
    def X(self):
        """The inputs, a writable view onto the library's memory."""
        return _view(lib.bp_dataset_x(self._ptr), (self.rows, self.inputs), self)

    @property
    def Y(self):
        return _view(lib.bp_dataset_y(self._ptr), (self.rows, self.outputs), self)

    @property
    def labels(self):
        """Class of each row (a copy), or None for regression."""
        addr = lib.bp_dataset_labels(self._ptr)
        if not addr:
            return None
        return np.ctypeslib.as_array((ctypes.c_int32 * self.rows).from_address(addr)).copy()

    @property
    def class_names(self):
        names = [lib.bp_dataset_class_name(self._ptr, k) for k in range(self.classes)]
        return [n.decode() if n else None for n in names]

    def split(self, fraction, seed=42):
        a, b = ctypes.c_void_p(), ctypes.c_void_p()
        check(lib.bp_dataset_split(self._ptr, float(fraction), int(seed), ctypes.byref(a),
                                   ctypes.byref(b)))
        return Dataset._wrap(a.value), Dataset._wrap(b.value)


_OPTION_ENUMS = {"optimizer": lib.bp_optimizer_parse, "schedule": lib.bp_schedule_parse}
# bp_train_options.precision (docs/precision.md): bf16 needs AVX512-BF16, or
# BACKPROP_BF16=emulate in the environment.
_PRECISIONS = {"fp32": 0, "float32": 0, "bf16": 1, "bfloat16": 1}
_OPTION_NAMES = [f for f, _ in TrainOptions._fields_
                 if f not in ("size", "progress", "progress_user", "report_every")]


def train_options(**kw):
    """A TrainOptions struct: the library's defaults, then the given fields."""
    o = TrainOptions()
    lib.bp_train_options_init(ctypes.byref(o), ctypes.sizeof(o))
    for k, v in kw.items():
        if k not in _OPTION_NAMES:
            raise TypeError("unknown training option %r (known: %s)"
                            % (k, ", ".join(_OPTION_NAMES)))
        if k in _OPTION_ENUMS:
            v = _enum(_OPTION_ENUMS[k], v, k)
        elif k == "precision" and isinstance(v, str):
            if v not in _PRECISIONS:
                raise ValueError("unknown precision %r (choose fp32 or bf16)" % v)
            v = _PRECISIONS[v]
        elif k == "seed":
            v = int(v) & 0xFFFFFFFFFFFFFFFF
        setattr(o, k, v)
    return o


class Trainer:
    """Trains a Net with its own optimizer state.

    Trainer(net, callback=fn, epochs=50, optimizer="adam", learning_rate=0.01, …)
    takes every field of bp_train_options by name.  callback(report) is called
    at the end of each epoch with a dict (epoch, epochs, seconds, learning_rate,
    train_loss, train_accuracy, val_loss, val_accuracy, improved); a truthy
    return stops training after that epoch (run() then returns with
    .stopped = True).  An exception in the callback, or Ctrl-C
    (KeyboardInterrupt), stops training after the current batch and is
    re-raised by run(); the net keeps the weights reached so far.  The GIL is
    released while the library trains."""

    # batches between the polls that let Ctrl-C and request_stop() act within an epoch
    POLL_BATCHES = 8

    def __init__(self, net, callback=None, report_every=0, **options):
        self.net = net
        self.callback = callback
        self.report_every = report_every
        o = train_options(**options)
        ptr = ctypes.c_void_p()
        check(lib.bp_trainer_create(ctypes.byref(ptr), net._ptr, ctypes.byref(o)))
        self._ptr = ptr.value
        self._install()

    def _install(self):
        self.history = []
        self.stopped = False
        self._exc = None
        self._stop_requested = False
        self._cb = PROGRESS_FN(self._progress)  # kept alive as long as the trainer
        every = self.report_every or self.POLL_BATCHES
        lib.bp_trainer_set_progress(self._ptr, ctypes.cast(self._cb, ctypes.c_void_p), None,
                                    every)

    def __del__(self):
        if getattr(self, "_ptr", None):
            lib.bp_trainer_free(self._ptr)
            self._ptr = None

    def _progress(self, rep, user):
        # Runs in the training thread with the GIL re-acquired by ctypes.  Any
        # exception (KeyboardInterrupt included) is kept and re-raised by run():
        # ctypes would otherwise print and drop it.
        try:
            r = rep.contents
            if r.in_epoch and not self.report_every:
                return 0  # a poll: Python has just handled any pending signal
            d = {"epoch": r.epoch, "epochs": r.epochs, "in_epoch": bool(r.in_epoch),
                 "batch": r.batch, "batches": r.batches, "seconds": r.seconds,
                 "samples_per_s": r.samples_per_s, "learning_rate": r.learning_rate,
                 "train_loss": r.train_loss, "train_accuracy": r.train_accuracy,
                 "val_loss": r.val_loss, "val_accuracy": r.val_accuracy,
                 "improved": bool(r.improved)}
            if not r.in_epoch:
                self.history.append(d)
            if self.callback is not None and self.callback(d):
                self.stopped = True
                return 1
            return 0
        except BaseException as e:  # noqa: B902 — KeyboardInterrupt must stop training too
            self._exc = e
            return 1

    def run(self, train, val=None, epochs=None):
        """Train until `epochs` epochs in total (default: the options' epochs);
        returns the list of per-epoch reports of this run."""
        if epochs is not None:
            lib.bp_trainer_set_epochs(self._ptr, int(epochs))
        start = len(self.history)
        self.stopped = False
        self._exc = None
        self._sigint = False
        self._stop_requested = False
        # Ctrl-C: Python runs its SIGINT handler only when the main thread
        # executes bytecode, i.e. inside our progress callback.  Raising there
        # could escape ctypes (which would print and drop it), so during the
        # run a handler only asks the trainer to stop; run() raises
        # KeyboardInterrupt once the library has returned with a valid net.
        old = None
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            old = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            st = lib.bp_trainer_run(self._ptr, train._ptr,
                                    val._ptr if val is not None else None)
        finally:
            if old is not None:
                signal.signal(signal.SIGINT, old)
        exc, self._exc = self._exc, None
        if exc is not None:
            raise exc
        if self._sigint:
            raise KeyboardInterrupt
        if st == _lib.ERR_INTERRUPTED and (self.stopped or self._stop_requested):
            self.stopped = True  # asked for: not an error
            return self.history[start:]
        check(st)
        return self.history[start:]

    def _on_sigint(self, signum, frame):
        self._sigint = True
        lib.bp_trainer_request_stop(self._ptr)

    def request_stop(self):
        """Stop a run in progress (from another thread) after its current batch;
        that run() returns normally with .stopped = True."""
        self._stop_requested = True
        lib.bp_trainer_request_stop(self._ptr)

    @property
    def epoch(self):
        return lib.bp_trainer_epoch(self._ptr)

    def save_checkpoint(self, path):
        check(lib.bp_checkpoint_save(self._ptr, os.fsencode(path)))

    @classmethod
    def load_checkpoint(cls, path, callback=None, report_every=0):
        """(net, trainer) from a checkpoint; the trainer resumes bit for bit."""
        n, t = ctypes.c_void_p(), ctypes.c_void_p()
        check(lib.bp_checkpoint_load(os.fsencode(path), ctypes.byref(n), ctypes.byref(t)))
        self = cls.__new__(cls)
        self.net = Net._wrap(n)
        self._ptr = t.value
        self.callback = callback
        self.report_every = report_every
        self._install()
        return self
