"""The theory's prediction, in process (docs/theory.md, docs/python.md): the direction v1 that the
kernels of a two-layer CNN (or the neurons of a two-layer FC net) turn to from a small
initialization, the singular values it comes from, and the time scales of alignment and of the end
of the linear stage. The numbers are those `condense predict` computes: both go through the same
library function, and `Prediction.to_json()` is the prediction.json it writes."""

import math
import pathlib
from dataclasses import dataclass

import numpy as np

from . import _core
from ._arrays import float_array, is_tensor, to_numpy

# The target encodings of the config key data.target: those made from integer class labels, and
# float targets used as they are.
LABEL_ENCODINGS = ("class", "onehot", "binary")
TARGET_ENCODINGS = LABEL_ENCODINGS + ("regression",)


@dataclass(frozen=True)
class TimeScale:
    """A time scale of the prediction: gradient-flow time (math.inf when it is never reached),
    optimizer steps = time / (learning rate per step) (None without a learning rate, or with adam),
    and the step count of plain gradient descent without the lr -> 0 limit (None unless the
    optimizer is gd, or sgd without momentum)."""

    time: float
    steps: float | None
    steps_discrete_gd: float | None


def _time_scale(record):
    time = record["time"]
    return TimeScale(time=math.inf if time is None else float(time), steps=record["steps"],
                     steps_discrete_gd=record["steps_discrete_gd"])


class Prediction:
    """The theory's prediction for one model and one data set (docs/theory.md).

    Attributes:
      v1: the direction's weight part shaped like one kernel, (C, k, k), or (F,) for an FC net:
        the array v1.npy holds. Unit norm together with v1_bias. Kernels align to +v1 or -v1.
      v1_bias: the direction's bias component (None for a model without bias).
      direction: the whole unit vector (weights, then the bias), (d,).
      singular_values: every singular value of the correlation Z, descending (prediction.json
        lists the first 10).
      t_align: {1e-2: TimeScale, 1e-3: TimeScale}: when the kernels align to 1 - delta.
      t_lin: TimeScale: when the linear stage ends.
      multiplicity: p of the activation (2p orientations at most); None at a kink.
      epsilon: the init size the growing mode starts from (the larger of the two layers' std).
      window_open: t_align(1e-2) < t_lin: alignment is seen before the linear stage ends.
      warnings: the prediction's warnings, as prediction.json lists them.
    """

    def __init__(self, core_prediction):
        self._core = core_prediction
        record = core_prediction.json()
        self._record = record
        self.v1 = core_prediction.v1_weights()
        bias = record["direction"]["v1_bias"]
        self.v1_bias = None if bias is None else float(bias)
        self.direction = core_prediction.direction()
        self.singular_values = core_prediction.singular_values()
        scales = record["time_scales"]
        self.t_align = {1e-2: _time_scale(scales["t_align_1e-2"]),
                        1e-3: _time_scale(scales["t_align_1e-3"])}
        self.t_lin = _time_scale(scales["t_lin"])
        self.multiplicity = record["activation"]["multiplicity_p"]
        self.epsilon = float(record["init"]["epsilon"])
        self.window_open = bool(scales["window_open"])
        self.warnings = list(record["warnings"])
        model = record["model"]
        self._fc = model["family"] == "two-layer fc"

    def to_json(self):
        """prediction.json as a dict: exactly what `condense predict` writes for these data."""
        return self._core.json()

    def summary(self):
        """The lines `condense predict` prints."""
        return self._core.summary()

    def layer_names(self):
        """(first layer, readout): the names condense gives the two layers ("conv1", "fc1") or,
        for an FC net, ("fc1", "fc2")."""
        return ("fc1", "fc2") if self._fc else ("conv1", "fc1")

    def _initial_arrays(self, initial, first_layer, readout_layer):
        default_first, default_readout = self.layer_names()
        first_layer = first_layer or default_first
        readout_layer = readout_layer or default_readout
        if hasattr(initial, "state_dict") and callable(initial.state_dict):
            initial = initial.state_dict()
        if not hasattr(initial, "items"):
            raise ValueError("initial: expected a state_dict (a mapping of names to arrays) or a "
                             f"torch module, got a {type(initial).__name__}")

        def get(name, required=True):
            if name in initial:
                return float_array(initial[name], name)
            if required:
                raise ValueError(f"the initial weights have no {name} (first_layer and "
                                 "readout_layer name the two layers in them)")
            return None

        return (get(f"{first_layer}.weight"), get(f"{first_layer}.bias", required=False),
                get(f"{readout_layer}.weight"))

    def predicted_alignment(self, initial, steps=None, times=None, *, first_layer=None,
                            readout_layer=None):
        """mean over kernels of |cos(W_beta(t), v1)| that the linear dynamics predict from the
        initial weights, at the given optimizer steps (t = learning rate per step x step; needs
        lr) or gradient-flow times: the curve of predicted_alignment.csv (docs/theory.md §5).

        `initial`: the model at step 0, a torch module or a state_dict, whose first layer's weight
        is (M, C, k, k) or (M, F) (with its bias when the model has one) and whose readout's
        weight is (K, M * positions) over the flattened (M, Ho, Wo) maps. The layers are found by
        the names condense gives them (layer_names()) unless first_layer and readout_layer name
        them ("0" and "3" for nn.Sequential(Conv2d, Tanh, Flatten, Linear))."""
        first, bias, readout = self._initial_arrays(initial, first_layer, readout_layer)
        if steps is not None:
            steps = [int(s) for s in np.asarray(steps).reshape(-1)]
        if times is not None:
            times = [float(t) for t in np.asarray(times, dtype=np.float64).reshape(-1)]
        return self._core.predicted_alignment(first, bias, readout, steps, times)

    def __repr__(self):
        s = self.singular_values
        return (f"Prediction({self._record['model']['description']}; s1 = {s[0]:.6g}, "
                f"s2 = {s[1] if len(s) > 1 else 0.0:.6g}, t_align(1e-2) = "
                f"{self.t_align[1e-2].time:.4g}, t_lin = {self.t_lin.time:.4g})")


def _check_number(value, name, *, positive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        expected = "a finite positive number" if positive else "a finite number, 0 or more"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def _check_integer(value, name, minimum=-2**31, maximum=2**31 - 1):
    """`value` as an int in [minimum, maximum] (by default the range the library's ints hold)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    if value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return int(value)


def _inits(init_scheme, init_std, init_gamma, init_fan, readout_std):
    """(scheme, std, gamma, fan) of the first layer and of the readout, as the config's [init]
    (with [init.layers.<readout>] std = readout_std) describes them."""
    plain = init_scheme in ("normal", "uniform")
    if init_std is not None and init_gamma is not None:
        raise ValueError("give init_std or init_gamma, not both")
    if init_gamma is not None:
        init_gamma = _check_number(init_gamma, "init_gamma", positive=True)
    if init_std is not None:
        init_std = _check_number(init_std, "init_std")
        if not plain:
            raise ValueError(f"init_std applies to init_scheme \"normal\" or \"uniform\", not "
                             f"\"{init_scheme}\"")
    elif plain and init_gamma is None:
        init_std = 1e-4  # condense's default (init.std)
    first = (str(init_scheme), init_std, init_gamma, str(init_fan))
    if readout_std is None:
        return first, first
    readout_std = _check_number(readout_std, "readout_std")
    if not plain:
        raise ValueError(f"readout_std applies to init_scheme \"normal\" or \"uniform\", not "
                         f"\"{init_scheme}\"")
    return first, (str(init_scheme), readout_std, None, "in")


def _target_arrays(y, target, loss):
    """(labels, float targets, encoding): integer class labels (N,), or float targets (N,) or
    (N, K), and the data.target name of how they are used."""
    if target is not None and target not in TARGET_ENCODINGS:
        raise ValueError(f"target must be one of {', '.join(map(repr, TARGET_ENCODINGS))} or "
                         f"None, got {target!r}")
    if is_tensor(y) and not (y.is_floating_point() or y.is_complex()):
        y = y.detach().cpu().numpy()
    elif is_tensor(y):
        y = to_numpy(y, "y")
    y = np.asarray(y)
    if y.dtype.kind in "iub":
        labels, values = y.astype(np.int64), None
    elif y.dtype.kind == "f":
        labels, values = None, np.asarray(y, dtype=np.float64)
    else:
        raise ValueError(f"y: dtype {y.dtype}; expected integer class labels or float targets")
    if target is None:
        if labels is None:
            target = "regression"
        else:
            target = "class" if loss == "cross-entropy" else "onehot"
    if target in LABEL_ENCODINGS and labels is None:
        if not (np.all(np.isfinite(values)) and np.all(values == np.round(values))):
            raise ValueError(f"target \"{target}\" is made from integer class labels; y has "
                             "values that are not integers")
        labels, values = values.astype(np.int64), None
    elif target == "regression" and values is None:
        labels, values = None, labels.astype(np.float64)
    return labels, values, target


def _predict(family, x, y, *, width, kernel, stride, padding, bias, readout_bias, activation, loss,
             target,
             positive_classes, outputs, init_std, readout_std, init_gamma, init_scheme, init_fan,
             lr, optimizer, momentum, batch_size, weight_decay, description):
    inputs = float_array(x, "x")
    labels, values, target = _target_arrays(y, target, loss)
    width = _check_integer(width, "width" if family == "fc" else "kernels", 1)
    outputs = 0 if outputs is None else _check_integer(outputs, "outputs", 1, 2**20)
    kernel, stride, padding = (_check_integer(kernel, "kernel"), _check_integer(stride, "stride"),
                               _check_integer(padding, "padding"))
    first_init, readout_init = _inits(init_scheme, init_std, init_gamma, init_fan, readout_std)
    if lr is not None:
        lr = _check_number(lr, "lr", positive=True)
    momentum = _check_number(momentum, "momentum")
    if momentum >= 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if momentum > 0 and optimizer != "sgd":
        raise ValueError(f"momentum applies to optimizer \"sgd\", not \"{optimizer}\"")
    batch_size = 0 if batch_size is None else _check_integer(batch_size, "batch_size", 1)
    weight_decay = _check_number(weight_decay, "weight_decay")
    positive = [] if positive_classes is None else [
        _check_integer(c, "positive_classes") for c in np.asarray(positive_classes).reshape(-1)]
    if description is None:
        sample = "x".join(str(n) for n in inputs.shape[1:])
        description = f"arrays from Python: {inputs.shape[0]} samples of {sample}"
    if readout_bias is None:
        readout_bias = bias
    core = _core.predict(inputs, family, labels, values, target, positive, outputs, width,
                         kernel, stride, padding, bool(bias), bool(readout_bias), str(activation),
                         str(loss), first_init, readout_init, str(optimizer), lr, momentum,
                         batch_size, weight_decay, str(description))
    return Prediction(core)


def predict(x, y, *, kernels, kernel=3, stride=1, padding=0, bias=False, readout_bias=None,
            activation="tanh",
            loss="mse", target=None, positive_classes=None, outputs=None, init_std=None,
            readout_std=None, init_gamma=None, init_scheme="normal", init_fan="in", lr=None,
            optimizer="gd", momentum=0.0, batch_size=None, weight_decay=0.0, description=None):
    """The theory's prediction for a two-layer CNN, conv (kernels x C x kernel x kernel, stride,
    zero padding, bias) -> activation -> flatten -> linear, trained on x from a small
    initialization. Returns a Prediction; `condense predict` gives the same numbers.

    x: the training inputs (N, C, H, W), normalized as for training (numpy or torch; float32 is
      read exactly as float64).
    y: the targets, one of
      - integer class labels (N,), turned into the targets the config key data.target names:
        target="class" (the default with loss="cross-entropy"): the labels 0..K-1 themselves;
        target="onehot" (the default with loss="mse"): one-hot rows of K = outputs, or the largest
        label + 1; target="binary": +1 for the labels in positive_classes, -1 otherwise (K = 1);
      - float targets (N,) or (N, K), used as they are (target="regression").
      As `condense predict` does, the loss then sees the effective targets of docs/theory.md §1:
      cross-entropy one-hot - 1/K, and with a readout bias every target minus its mean over
      samples.
    bias: both layers have biases (condense's model.bias); readout_bias: whether the readout has
      one, when it differs (None: as bias). The first layer's bias adds a component to v1, the
      readout's centres the targets.
    kernels: M, the number of kernels. The prediction does not depend on it; the record does
      (prediction.json's model), and so do the init rules counting a layer's fans.
    activation: a name of condense's activations; the prediction covers identity, tanh,
      sigmoid, softplus, gelu and silu (differentiable at 0 with a nonzero slope).
    loss: "mse" or "cross-entropy".
    init_std: the std of both layers' normal init (default 1e-4, condense's), readout_std the
      readout's when it differs; or init_gamma: std = fan_in^-gamma (fan_out with
      init_fan="out"), or init_scheme="xavier-normal", "kaiming-normal", ... as the config's
      [init]. epsilon, the size the growing mode starts from, is the larger of the two stds.
    lr, optimizer ("gd", "sgd" with momentum, "adam"), batch_size: give the time scales in
      optimizer steps too (adam's steps are not gradient-flow time: times only); without lr the
      time scales are in gradient-flow time only. weight_decay: lambda, added to the gradient.
    description: one line for prediction.json's data.description.

    Raises ValueError for bad input, with the messages of `condense predict` where it has one."""
    return _predict("cnn", x, y, width=kernels, kernel=kernel, stride=stride, padding=padding,
                    bias=bias, readout_bias=readout_bias, activation=activation, loss=loss,
                    target=target,
                    positive_classes=positive_classes, outputs=outputs, init_std=init_std,
                    readout_std=readout_std, init_gamma=init_gamma, init_scheme=init_scheme,
                    init_fan=init_fan, lr=lr, optimizer=optimizer, momentum=momentum,
                    batch_size=batch_size, weight_decay=weight_decay, description=description)


def predict_fc(x, y, *, width, bias=False, readout_bias=None, activation="tanh", loss="mse",
               target=None,
               positive_classes=None, outputs=None, init_std=None, readout_std=None,
               init_gamma=None, init_scheme="normal", init_fan="in", lr=None, optimizer="gd",
               momentum=0.0, batch_size=None, weight_decay=0.0, description=None):
    """The theory's prediction for a two-layer FC net, linear (width neurons) -> activation ->
    linear, trained on x (N, F), or on images (N, C, H, W) read flattened. v1 is then (F,): the
    direction every neuron turns to. Every other argument is that of predict()."""
    return _predict("fc", x, y, width=width, kernel=1, stride=1, padding=0, bias=bias,
                    readout_bias=readout_bias, activation=activation, loss=loss, target=target,
                    positive_classes=positive_classes, outputs=outputs, init_std=init_std,
                    readout_std=readout_std, init_gamma=init_gamma, init_scheme=init_scheme,
                    init_fan=init_fan, lr=lr, optimizer=optimizer, momentum=momentum,
                    batch_size=batch_size, weight_decay=weight_decay, description=description)


def write_prediction(run_dir, prediction, *, initial=None, total_steps=None, first_layer=None,
                     readout_layer=None, network=None):
    """Writes the prediction into a run directory as `condense train` does, with the library's
    own writers: RUN/prediction.json and RUN/v1.npy, and, given the model's initial weights
    (`initial`, as Prediction.predicted_alignment takes them) and the run's total number of
    steps, RUN/predicted_alignment.csv (every step up to 2000 steps, else 100 per decade). The
    directory is made if it does not exist.

    `network` describes a network deeper than the theory's two layers whose first layer is
    `first_layer`: prediction.json's "scope" then says that v1 is the two-layer prediction for
    that layer and that its alignment is measured, not predicted (the report labels it so). No
    predicted alignment curve is written for such a network."""
    run_dir = pathlib.Path(run_dir)
    if network is not None:
        if not isinstance(network, str) or not network:
            raise ValueError(f"network must be a non-empty string, got {network!r}")
        if not isinstance(first_layer, str) or not first_layer:
            raise ValueError("network= needs first_layer=, the name of the network's layer "
                             "measured against v1")
        if initial is not None:
            raise ValueError("the predicted alignment curve (initial=...) is the two-layer "
                             "network's; it is not written for a deeper network (network=...)")
    run_dir.mkdir(parents=True, exist_ok=True)
    first = bias = readout = None
    if initial is not None:
        first, bias, readout = prediction._initial_arrays(initial, first_layer, readout_layer)
        if total_steps is None:
            raise ValueError("predicted_alignment.csv needs total_steps, the run's number of "
                             "optimizer steps")
        total_steps = _check_integer(total_steps, "total_steps", 0, 2**62)
    elif total_steps is not None:
        raise ValueError("total_steps is used with the initial weights (initial=...)")
    prediction._core.write(str(run_dir), first, bias, readout, total_steps,
                           first_layer if network is not None else None, network)


@dataclass
class TrainingData:
    """The training data a run config loads, as `condense predict` and `condense train` see them:
    inputs (N, C, H, W) normalized; labels (N,) re-indexed classes (target "class") or None;
    original_labels (N,) the dataset's class ids (None for regression); targets (N, K) float
    targets (None for target "class"); target, the config's data.target; positive_classes;
    description."""

    inputs: np.ndarray
    labels: np.ndarray | None
    original_labels: np.ndarray | None
    targets: np.ndarray | None
    target: str
    positive_classes: list
    description: str


def load_training_data(config=None, overrides=()):
    """The training split a run config (a TOML file; None for the defaults) loads, with --set
    style overrides ("data.train_size=100")."""
    data = _core.training_data("" if config is None else str(config), [str(o) for o in overrides])
    return TrainingData(inputs=data["inputs"], labels=data["labels"],
                        original_labels=data["original_labels"], targets=data["targets"],
                        target=data["target"], positive_classes=list(data["positive_classes"]),
                        description=data["description"])
