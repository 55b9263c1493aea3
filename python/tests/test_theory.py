"""condense.predict and predict_fc give the numbers and files of `condense predict` and `condense
train` for the same data; bad input raises ValueError with the command line's messages."""

import csv
import gzip
import json
import math
import pathlib

import numpy as np
import pytest
import torch

import condense

FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")

CNN_CONFIG = """
seed = 0
[data]
dataset = "fashion-mnist"
train_size = 200
test_size = 0
normalize = "standard"
target = "binary"
positive_classes = [0, 1, 2, 3, 4]
[model]
conv = [{ channels = 16, kernel = 3, stride = 1, padding = 1 }]
activation = "tanh"
bias = false
[init]
std = 1e-6
[train]
loss = "mse"
optimizer = "gd"
lr = 0.005
steps = 40
"""

FC_CONFIG = """
seed = 0
[data]
dataset = "fashion-mnist"
train_size = 300
test_size = 0
target = "class"
classes = [0, 3, 7]
[model]
conv = []
hidden = [20]
activation = "sigmoid"
bias = true
[init]
gamma = 0.5
[init.layers.fc2]
std = 1e-3
[train]
loss = "cross-entropy"
optimizer = "sgd"
momentum = 0.9
lr = 0.01
batch_size = 50
weight_decay = 1e-4
"""

GAUSSIAN_CONFIG = """
seed = 7
[data]
dataset = "gaussian"
train_size = 64
target = "onehot"
normalize = "none"
gaussian_shape = [2, 6, 7]
gaussian_classes = 3
[model]
conv = [{ channels = 5, kernel = 3, stride = 2, padding = 1 }]
activation = "gelu"
bias = true
[init]
scheme = "xavier-normal"
[train]
optimizer = "gd"
lr = 0.05
steps = 30
[track]
snapshots = "every:10"
"""

SIN_CONFIG = """
seed = 3
[data]
dataset = "sin"
train_size = 80
target = "regression"
[model]
conv = []
hidden = [50]
activation = "tanh"
bias = true
[init]
std = 0.005
[train]
optimizer = "adam"
lr = 1e-3
"""


def predict_with_cli(run_condense, tmp_path, name, text):
    """condense predict on a config written from `text`: (the config's path, prediction.json as a
    dict, v1.npy)."""
    config = tmp_path / f"{name}.toml"
    config.write_text(text)
    out = tmp_path / f"{name}-prediction"
    run_condense("predict", config, "--out", out, "--quiet")
    return config, json.loads((out / "prediction.json").read_text()), np.load(out / "v1.npy")


def read_idx(path):
    """An IDX file of Fashion-MNIST (gzip): uint8 labels (N,) or images (N, 28, 28)."""
    raw = gzip.open(path).read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def assert_same_numbers(prediction, record, v1, rel=0.0):
    """The Prediction's numbers are those of a prediction.json and its v1.npy, to `rel`."""
    assert prediction.v1.shape == v1.shape
    np.testing.assert_allclose(prediction.v1, v1, rtol=0, atol=rel)
    np.testing.assert_allclose(prediction.direction, record["direction"]["v1"], rtol=0, atol=rel)
    shown = record["correlation"]["singular_values"]
    np.testing.assert_allclose(prediction.singular_values[:len(shown)], shown, rtol=rel, atol=0)
    scales = record["time_scales"]
    for delta, key in ((1e-2, "t_align_1e-2"), (1e-3, "t_align_1e-3")):
        assert prediction.t_align[delta].time == pytest.approx(scales[key]["time"], rel=rel)
        assert prediction.t_align[delta].steps == pytest.approx(scales[key]["steps"], rel=rel)
    assert prediction.t_lin.time == pytest.approx(scales["t_lin"]["time"], rel=rel)
    assert prediction.t_lin.steps == pytest.approx(scales["t_lin"]["steps"], rel=rel)
    assert prediction.multiplicity == record["activation"]["multiplicity_p"]


def test_cnn_from_the_library_data_is_condense_predict_exactly(run_condense, tmp_path):
    config, record, v1 = predict_with_cli(run_condense, tmp_path, "cnn", CNN_CONFIG)
    data = condense.theory.load_training_data(config)
    assert data.inputs.shape == (200, 1, 28, 28) and data.target == "binary"
    prediction = condense.predict(data.inputs, data.original_labels, kernels=16, padding=1,
                                  target="binary", positive_classes=data.positive_classes,
                                  init_std=1e-6, lr=0.005, description=data.description)
    assert prediction.to_json() == record
    assert np.array_equal(prediction.v1, v1)
    assert_same_numbers(prediction, record, v1)
    assert prediction.multiplicity == 1 and prediction.v1_bias is None
    assert prediction.window_open
    # The float ±1 targets the config makes are the same targets, named "regression".
    same = condense.predict(data.inputs, data.targets, kernels=16, padding=1, init_std=1e-6,
                            lr=0.005)
    assert np.array_equal(same.v1, prediction.v1)
    assert same.to_json()["data"]["targets"] == "mse: regression targets"


def test_cnn_from_the_idx_files_read_with_numpy_agrees_to_1e_12(run_condense, tmp_path):
    _, record, v1 = predict_with_cli(run_condense, tmp_path, "cnn", CNN_CONFIG)
    images = read_idx(FASHION_MNIST / "train-images-idx3-ubyte.gz")[:200]
    labels = read_idx(FASHION_MNIST / "train-labels-idx1-ubyte.gz")[:200]
    x = images.astype(np.float64)[:, None] / 255.0
    x = (x - x.mean()) / x.std()  # "standard": one mean and one (population) std over all pixels
    prediction = condense.predict(torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64)),
                                  kernels=16, padding=1, target="binary",
                                  positive_classes=[0, 1, 2, 3, 4], init_std=1e-6, lr=0.005)
    assert_same_numbers(prediction, record, v1, rel=1e-12)
    assert prediction.t_align[1e-2].steps_discrete_gd == pytest.approx(
        record["time_scales"]["t_align_1e-2"]["steps_discrete_gd"], rel=1e-12)
    # Independently of the library: v1 is the top right singular vector of the stacked patches'
    # correlation with the targets, Z[q] = (1/N) sum_i y_i x_{i,q}.
    y = np.where(labels < 5, 1.0, -1.0)
    padded = np.pad(x[:, 0], ((0, 0), (1, 1), (1, 1)))
    patches = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))
    Z = np.einsum("i,iabjk->abjk", y, patches).reshape(28 * 28, 9) / len(y)
    _, s, vt = np.linalg.svd(Z, full_matrices=False)
    reference = vt[0] * np.sign(vt[0][np.argmax(np.abs(vt[0]))])
    np.testing.assert_allclose(prediction.direction, reference, rtol=0, atol=1e-12)
    np.testing.assert_allclose(prediction.singular_values, s, rtol=1e-12)


def test_fc_cross_entropy_with_bias_and_per_layer_init_is_condense_predict(run_condense,
                                                                          tmp_path):
    config, record, v1 = predict_with_cli(run_condense, tmp_path, "fc", FC_CONFIG)
    data = condense.theory.load_training_data(config)
    assert data.labels.max() == 2
    prediction = condense.predict_fc(
        data.inputs.reshape(300, -1), data.labels, width=20, bias=True, activation="sigmoid",
        loss="cross-entropy", outputs=3, init_gamma=0.5, readout_std=1e-3, lr=0.01,
        optimizer="sgd", momentum=0.9, batch_size=50, weight_decay=1e-4,
        description=data.description)
    assert prediction.to_json() == record
    assert prediction.v1.shape == (784,) and np.array_equal(prediction.v1, v1)
    assert prediction.v1_bias == record["direction"]["v1_bias"]
    assert prediction.t_align[1e-2].steps_discrete_gd is None  # momentum: not plain GD
    # Images are read flattened, as the engine's flatten reads them.
    images = condense.predict_fc(data.inputs, data.labels, width=20, bias=True,
                                 activation="sigmoid", loss="cross-entropy", outputs=3,
                                 init_gamma=0.5, readout_std=1e-3, lr=0.01, optimizer="sgd",
                                 momentum=0.9, batch_size=50, weight_decay=1e-4,
                                 description=data.description)
    assert images.to_json() == record


def test_gaussian_onehot_xavier_and_sin_regression_adam_are_condense_predict(run_condense,
                                                                            tmp_path):
    config, record, _ = predict_with_cli(run_condense, tmp_path, "gaussian", GAUSSIAN_CONFIG)
    data = condense.theory.load_training_data(config)
    prediction = condense.predict(data.inputs, data.original_labels, kernels=5, kernel=3,
                                  stride=2, padding=1, bias=True, activation="gelu",
                                  target="onehot", outputs=3, init_scheme="xavier-normal",
                                  lr=0.05, description=data.description)
    assert prediction.to_json() == record

    config, record, _ = predict_with_cli(run_condense, tmp_path, "sin", SIN_CONFIG)
    data = condense.theory.load_training_data(config)
    assert data.targets.shape == (80, 1)
    prediction = condense.predict_fc(data.inputs.reshape(80, 5), data.targets[:, 0], width=50,
                                     bias=True, init_std=0.005, lr=1e-3, optimizer="adam",
                                     description=data.description)
    assert prediction.to_json() == record
    assert prediction.t_lin.steps is None and math.isfinite(prediction.t_lin.time)


def test_without_a_learning_rate_times_are_gradient_flow_time(run_condense, tmp_path):
    config, record, _ = predict_with_cli(run_condense, tmp_path, "cnn", CNN_CONFIG)
    data = condense.theory.load_training_data(config)
    prediction = condense.predict(data.inputs, data.targets, kernels=16, padding=1,
                                  init_std=1e-6)
    assert prediction.t_align[1e-2].steps is None and prediction.t_lin.steps is None
    assert prediction.t_lin.time == record["time_scales"]["t_lin"]["time"]
    assert "gradient-flow time only" in prediction.to_json()["time_scales"]["steps_rule"]
    assert prediction.to_json()["time_scales"]["learning_rate_per_step"] is None


def test_float32_and_torch_inputs_are_read_as_their_values():
    rng = np.random.default_rng(5)
    x32 = rng.standard_normal((40, 2, 7, 7)).astype(np.float32)
    labels = rng.integers(0, 3, 40)
    a = condense.predict(x32, labels, kernels=4, outputs=3)
    b = condense.predict(x32.astype(np.float64), labels, kernels=4, outputs=3)
    c = condense.predict(torch.from_numpy(x32), torch.from_numpy(labels), kernels=4, outputs=3)
    d = condense.predict(torch.from_numpy(x32).permute(0, 1, 3, 2).contiguous().permute(0, 1, 3, 2),
                         labels.tolist(), kernels=4, outputs=3)
    assert a.to_json() == b.to_json() == c.to_json() == d.to_json()
    assert a.to_json()["data"]["targets"] == "mse: onehot targets"
    assert a.to_json()["correlation"]["shape"] == [3 * 25, 18]


def test_predicted_alignment_and_run_files_are_those_of_condense_train(run_condense, tmp_path):
    config = tmp_path / "gaussian.toml"
    config.write_text(GAUSSIAN_CONFIG)
    run = tmp_path / "run"
    run_condense("train", config, "--out", run, "--quiet", "--no-report")
    data = condense.theory.load_training_data(config)
    prediction = condense.predict(data.inputs, data.original_labels, kernels=5, kernel=3,
                                  stride=2, padding=1, bias=True, activation="gelu",
                                  target="onehot", outputs=3, init_scheme="xavier-normal",
                                  lr=0.05, description=data.description)
    step0 = run / "snapshots" / "step_0"
    initial = {path.name[:-4]: torch.from_numpy(np.load(path)) for path in step0.glob("*.npy")}
    assert {"conv1.weight", "conv1.bias", "fc1.weight"} <= set(initial)

    with open(run / "predicted_alignment.csv") as table:
        rows = list(csv.DictReader(table))
    steps = [int(row["step"]) for row in rows]
    assert steps == list(range(31))
    curve = prediction.predicted_alignment(initial, steps)
    np.testing.assert_allclose(curve, [float(row["predicted_alignment"]) for row in rows],
                               rtol=1e-8)  # the CSV keeps 9 digits
    times = prediction.predicted_alignment(initial, times=[0.05 * s for s in steps])
    np.testing.assert_allclose(times, curve, rtol=1e-12)

    # An nn.Sequential's names, given as the two layers' names.
    renamed = {"0.weight": initial["conv1.weight"], "0.bias": initial["conv1.bias"],
               "3.weight": initial["fc1.weight"], "3.bias": initial["fc1.bias"]}
    np.testing.assert_array_equal(
        prediction.predicted_alignment(renamed, steps, first_layer="0", readout_layer="3"), curve)

    mine = tmp_path / "mine"
    condense.write_prediction(mine, prediction, initial=initial, total_steps=30)
    for name in ("prediction.json", "v1.npy", "predicted_alignment.csv"):
        assert (mine / name).read_bytes() == (run / name).read_bytes(), name


def test_write_prediction_without_initial_weights_writes_what_condense_predict_writes(
        run_condense, tmp_path):
    config = tmp_path / "cnn.toml"
    config.write_text(CNN_CONFIG)
    run_condense("predict", config, "--out", tmp_path / "cli", "--quiet")
    data = condense.theory.load_training_data(config)
    prediction = condense.predict(data.inputs, data.original_labels, kernels=16, padding=1,
                                  target="binary", positive_classes=data.positive_classes,
                                  init_std=1e-6, lr=0.005, description=data.description)
    condense.theory.write_prediction(tmp_path / "mine", prediction)
    for name in ("prediction.json", "v1.npy"):
        assert (tmp_path / "mine" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
    assert not (tmp_path / "mine" / "predicted_alignment.csv").exists()


def small_data(n=20):
    rng = np.random.default_rng(6)
    return rng.standard_normal((n, 1, 5, 5)), rng.integers(0, 2, n)


@pytest.mark.parametrize("change, message", [
    (lambda x, y: (x[0], y), r"the inputs have shape \(1, 5, 5\); expected \(N, C, H, W\)"),
    (lambda x, y: (x, y[:, None]), r"the class labels have shape \(20, 1\); expected \(N,\)"),
    (lambda x, y: (x, y[:-1]), "the inputs have 20 samples but the targets have 19"),
    (lambda x, y: (x[:0], y[:0]), "the prediction needs training data: there are no samples"),
    (lambda x, y: (np.where(np.arange(500).reshape(20, 1, 5, 5) == 107, np.nan, x), y),
     r"the inputs have a non-finite value \(NaN or infinity\) in sample 4"),
    (lambda x, y: (np.where(np.arange(500).reshape(20, 1, 5, 5) == 0, np.inf, x), y),
     r"the inputs have a non-finite value \(NaN or infinity\) in sample 0"),
    (lambda x, y: (x, np.where(np.arange(20) == 3, np.nan, y.astype(float))),
     r"the targets have a non-finite value \(NaN or infinity\) in sample 3"),
    (lambda x, y: (x, y - 1), "has class -1, outside 0..0"),
    (lambda x, y: (x, y + 10**9), "the class labels go up to 1000000001: 1000000002 outputs"),
])
def test_bad_data_raise_value_errors(change, message):
    x, y = small_data()
    x, y = change(x, y)
    with pytest.raises(ValueError, match=message):
        condense.predict(x, y, kernels=4)


def test_label_encodings_need_integer_labels():
    x, y = small_data()
    with pytest.raises(ValueError, match="y has values that are not integers"):
        condense.predict(x, y + 0.5, kernels=4, target="onehot")
    # Integral floats are labels, as integers are.
    a = condense.predict(x, y.astype(np.float32), kernels=4, target="onehot")
    assert a.to_json() == condense.predict(x, y, kernels=4).to_json()


def test_fc_data_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match=r"expected \(N, F\) or images \(N, C, H, W\)"):
        condense.predict_fc(np.ones((4, 2, 3)), np.arange(4) % 2, width=3)


def cli_error(run_condense, tmp_path, text):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    result = run_condense("predict", config, "--out", tmp_path / "bad", check=False)
    assert result.returncode == 2, result.stderr
    return result.stderr


GAUSSIAN_SMALL = """
[data]
dataset = "gaussian"
train_size = 20
target = "onehot"
normalize = "none"
gaussian_shape = [1, 4, 4]
[model]
conv = [{{ channels = 4, kernel = {kernel}, stride = 1, padding = {padding} }}]
activation = "{activation}"
"""


@pytest.mark.parametrize("kernel, padding, activation", [
    (7, 1, "tanh"),  # larger than the padded 6x6 input
    (3, 0, "relu"),  # a kink at 0
    (3, 0, "xtanh"),  # sigma'(0) = 0
    (3, 0, "swish"),  # not an activation
])
def test_model_refusals_have_the_messages_of_condense_predict(run_condense, tmp_path, kernel,
                                                              padding, activation):
    stderr = cli_error(run_condense, tmp_path,
                       GAUSSIAN_SMALL.format(kernel=kernel, padding=padding,
                                             activation=activation))
    x = np.random.default_rng(8).standard_normal((20, 1, 4, 4))
    with pytest.raises(ValueError) as error:
        condense.predict(x, np.arange(20) % 2, kernels=4, kernel=kernel, padding=padding,
                         activation=activation)
    assert str(error.value) in stderr
    assert len(str(error.value)) > 30


@pytest.mark.parametrize("arguments, message", [
    (dict(loss="cross-entropy", target="binary", positive_classes=[1]),
     "the loss cross-entropy is trained on class labels"),
    (dict(target="class"), "the loss mse is trained on float targets"),
    (dict(target="binary"), "target \"binary\" needs positive_classes"),
    (dict(target="twohot"), "target must be one of 'class', 'onehot', 'binary', 'regression'"),
    (dict(outputs=5, target="binary", positive_classes=[1]),
     "the model has 5 outputs, but the binary targets have 1"),
    (dict(init_std=1e-3, init_gamma=0.5), "give init_std or init_gamma, not both"),
    (dict(init_scheme="xavier-normal", init_std=1e-3), "init_std applies to init_scheme"),
    (dict(init_scheme="gaussian"), "gaussian"),
    (dict(lr=-1.0), "lr must be a finite positive number"),
    (dict(lr=0.1, momentum=0.9), "momentum applies to optimizer \"sgd\""),
    (dict(lr=0.1, optimizer="lbfgs"), "lbfgs"),
    (dict(kernels=0), "kernels must be at least 1"),
    (dict(stride=0), "stride >= 1"),
    (dict(stride=2**40), "stride must be at most 2147483647"),
    (dict(outputs=2**21), "outputs must be at most 1048576"),
    (dict(loss="hinge"), "hinge"),
])
def test_bad_descriptions_raise_value_errors(arguments, message):
    x, y = small_data()
    arguments = {"kernels": 4, **arguments}
    with pytest.raises(ValueError, match=message):
        condense.predict(x, y, **arguments)


def test_predicted_alignment_refuses_weights_of_another_model():
    x, y = small_data()
    prediction = condense.predict(x, y, kernels=4, outputs=2, lr=0.1)
    initial = {"conv1.weight": np.zeros((4, 1, 3, 3)), "fc1.weight": np.zeros((2, 4 * 9))}
    initial["conv1.weight"][:, 0, 1, 1] = 1e-3
    initial["fc1.weight"][:] = 1e-3
    assert prediction.predicted_alignment(initial, [0, 10]).shape == (2,)
    with pytest.raises(ValueError, match=r"conv1.weight has shape \(4, 1, 5, 5\)"):
        prediction.predicted_alignment({**initial, "conv1.weight": np.zeros((4, 1, 5, 5))}, [0])
    with pytest.raises(ValueError, match="without bias, but the initial weights have a conv1.bias"):
        prediction.predicted_alignment({**initial, "conv1.bias": np.zeros(4)}, [0])
    with pytest.raises(ValueError, match="have no fc1.weight"):
        prediction.predicted_alignment({"conv1.weight": initial["conv1.weight"]}, [0])
    without_lr = condense.predict(x, y, kernels=4, outputs=2)
    with pytest.raises(ValueError, match="give times instead"):
        without_lr.predicted_alignment(initial, [0, 10])
