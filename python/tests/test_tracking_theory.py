"""The theory's prediction in a tracked PyTorch run (condense.Tracker(data=...), docs/python.md):
read from the module's first layer and the optimizer, PyTorch's default readout bias, deeper
networks labelled as measured against the two-layer prediction, and the inputs it refuses."""

import json

import numpy as np
import pytest
import torch

import condense
from helpers import read_rows, small_init


@pytest.fixture(scope="module")
def data(fashion_mnist):
    images, labels = fashion_mnist
    x = torch.from_numpy(images)
    return x, torch.where(torch.from_numpy(labels) < 5, 1.0, -1.0)[:, None], labels


def test_pytorchs_default_readout_bias_centres_the_targets(tmp_path, data):
    """Conv2d(bias=False) then Linear with PyTorch's default bias: v1 has no bias component and
    the targets are centred, as condense.predict(readout_bias=True) says."""
    x, y, _ = data
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, bias=False), torch.nn.Tanh(),
                                torch.nn.Flatten(), torch.nn.Linear(8 * 26 * 26, 1))
    small_init(model, 1e-6)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.005)
    with condense.Tracker(model, tmp_path / "run", total_steps=120, optimizer=optimizer,
                          data=(x, y), activation="tanh", loss="mse") as tracker:
        for step in range(120):
            loss = 0.5 * ((model(x) - y) ** 2).mean()
            tracker.step(step, loss=loss)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    written = json.loads((tmp_path / "run/prediction.json").read_text())
    assert written["model"]["bias"] is False and written["model"]["readout_bias"] is True
    assert "bias in the readout only" in written["model"]["description"]
    assert "minus their mean" in written["data"]["targets"]
    assert written["direction"]["v1_bias"] is None
    # The same prediction by hand: the targets centred, a model without biases.
    centred = condense.predict(x, y.double() - y.double().mean(), kernels=8, activation="tanh", loss="mse",
                               init_std=1e-6, lr=0.005, optimizer="sgd")
    assert abs(np.sum(tracker.prediction.v1 * centred.v1)) == pytest.approx(1, abs=1e-12)
    assert tracker.prediction.singular_values[0] == pytest.approx(centred.singular_values[0],
                                                                  rel=1e-10)
    # The layers are named by the module (0 and 3): align_v1 of layer 0 reaches 0.99.
    rows = [r for r in read_rows(tmp_path / "run/analysis.csv") if r["layer"] == "0"]
    assert max(float(r["align_v1"]) for r in rows) > 0.99
    assert all(r["align_v1"] == "" for r in read_rows(tmp_path / "run/analysis.csv")
               if r["layer"] == "3")
    assert len(read_rows(tmp_path / "run/predicted_alignment.csv")) == 121


class DeeperCnn(torch.nn.Module):
    """Two conv layers with tanh, average pooling and a Linear head: not the theory's network."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 3, padding="same"),
                                            torch.nn.Tanh(), torch.nn.Conv2d(6, 6, 3, 2, 1),
                                            torch.nn.Tanh(), torch.nn.AdaptiveAvgPool2d(4))
        self.head = torch.nn.Linear(6 * 16, 10)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


def test_a_deeper_network_is_measured_against_the_two_layer_prediction(tmp_path, data,
                                                                      run_condense):
    x, _, labels = data
    y = torch.from_numpy(labels)
    torch.manual_seed(3)
    model = DeeperCnn()
    small_init(model, 1e-3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    run = tmp_path / "deeper"
    with condense.Tracker(model, run, total_steps=40, optimizer=optimizer, data=(x, y),
                          activation="tanh", loss="cross-entropy",
                          theory={"batch_size": 300}) as tracker:
        for step in range(40):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            tracker.step(step, loss=loss)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    written = json.loads((run / "prediction.json").read_text())
    assert written["scope"]["layer"] == "features.0"
    assert written["scope"]["network"] == "DeeperCnn, 3 conv and linear layers"
    assert "measured, not predicted" in written["scope"]["claim"]
    model_record = written["model"]
    assert (model_record["kernels"], model_record["kernel_size"], model_record["padding"],
            model_record["stride"], model_record["bias"]) == (6, 3, 1, 1, True)
    # The targets are centred when the network's output layer has a bias, as the head has.
    assert model_record["readout_bias"] is True
    # SGD with momentum 0.9: a step is lr / (1 - momentum) of gradient-flow time.
    assert written["time_scales"]["t_lin"]["steps"] == pytest.approx(
        written["time_scales"]["t_lin"]["time"] * 0.1 / 0.05, rel=1e-9)
    # The same v1 as condense.predict for that first layer alone.
    alone = condense.predict(x, y, kernels=6, padding=1, bias=True,
                             activation="tanh", loss="cross-entropy")
    assert np.array_equal(tracker.prediction.v1, alone.v1)
    assert not (run / "predicted_alignment.csv").exists()
    rows = read_rows(run / "analysis.csv")
    aligned = {r["layer"] for r in rows if r["align_v1"] != ""}
    assert aligned == {"features.0"}
    # The report says what the curve is.
    html = (run / "report.html").read_text()
    assert "deeper than the two-layer networks the theory covers" in html
    assert "Alignment with the two-layer prediction (measured)" in html
    assert (run / "figures/alignment.png").is_file()
    # condense analyze measures the same alignment from the saved files.
    written_rows = (run / "analysis.csv").read_bytes()
    run_condense("analyze", run, "--quiet")
    assert (run / "analysis.csv").read_bytes() == written_rows


def test_prediction_settings_and_refusals(tmp_path, data):
    x, y, _ = data
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 26 * 26, 1))
    with pytest.raises(ValueError, match=r"data= needs activation= .* and loss="):
        condense.Tracker(model, tmp_path / "a", data=(x, y))
    with pytest.raises(ValueError, match="give the training data too"):
        condense.Tracker(model, tmp_path / "b", activation="tanh")
    with pytest.raises(ValueError, match="relu"):
        condense.Tracker(model, tmp_path / "c", data=(x, y), activation="relu", loss="mse")
    with pytest.raises(ValueError, match="theory=: kernel cannot be set"):
        condense.Tracker(model, tmp_path / "d", data=(x, y), activation="tanh", loss="mse",
                         theory={"kernel": 5})
    with pytest.raises(ValueError, match=r"the inputs have 3 channels; 0 reads 1"):
        condense.Tracker(model, tmp_path / "e", data=(torch.zeros(5, 3, 28, 28), y[:5]),
                         activation="tanh", loss="mse")
    with pytest.raises(ValueError, match="pair"):
        condense.Tracker(model, tmp_path / "f", data=x, activation="tanh", loss="mse")
    dilated = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, dilation=2), torch.nn.Flatten(),
                                  torch.nn.Linear(4 * 24 * 24, 1))
    with pytest.raises(ValueError, match="dilation"):
        condense.Tracker(dilated, tmp_path / "g", data=(x, y), activation="tanh", loss="mse")
    wide = torch.nn.Sequential(torch.nn.Conv2d(1, 4, (3, 5)), torch.nn.Flatten(),
                               torch.nn.Linear(4 * 26 * 24, 1))
    with pytest.raises(ValueError, match=r"kernel_size \(3, 5\); the theory's model has square"):
        condense.Tracker(wide, tmp_path / "h", data=(x, y), activation="tanh", loss="mse")
    mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 8), torch.nn.Tanh(),
                              torch.nn.Linear(8, 1))
    with pytest.raises(ValueError, match=r"the inputs have 392 features per sample \(2, 14, 14\); 1 "
                                         r"reads 784"):
        condense.Tracker(mlp, tmp_path / "i", data=(torch.zeros(5, 2, 14, 14), y[:5]),
                         activation="tanh", loss="mse")
    # A refused prediction leaves nothing behind: the run directory is not made.
    assert not (tmp_path / "c").exists() and not (tmp_path / "a").exists()
    # Adam: time scales in gradient-flow time only; the targets' options through theory=.
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, bias=False), torch.nn.Tanh(),
                                torch.nn.Flatten(), torch.nn.Linear(4 * 26 * 26, 1, bias=False))
    labels = data[2]
    tracker = condense.Tracker(model, tmp_path / "adam", data=(x, labels), activation="tanh",
                               loss="mse", optimizer=torch.optim.Adam(model.parameters()),
                               theory={"target": "binary", "positive_classes": [0, 1, 2, 3, 4]})
    tracker.close(report=False)
    written = json.loads((tmp_path / "adam/prediction.json").read_text())
    assert written["time_scales"]["t_lin"]["steps"] is None
    same = condense.predict(x, y, kernels=4)
    assert abs(np.sum(tracker.prediction.v1 * same.v1)) == pytest.approx(1, abs=1e-12)
    # A net without conv layers: its first Linear, read by the FC theory on flattened images.
    torch.manual_seed(4)
    mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 8), torch.nn.Tanh(),
                              torch.nn.Linear(8, 1))
    tracker = condense.Tracker(mlp, tmp_path / "mlp", total_steps=10, data=(x, y),
                               activation="tanh", loss="mse",
                               optimizer=torch.optim.SGD(mlp.parameters(), lr=0.1))
    tracker.close(step=10, report=False)
    written = json.loads((tmp_path / "mlp/prediction.json").read_text())
    assert written["model"]["family"] == "two-layer fc" and "scope" not in written
    assert written["model"]["bias"] is True and written["model"]["readout_bias"] is True
    same = condense.predict_fc(x, y, width=8, bias=True)
    assert abs(np.sum(tracker.prediction.direction * same.direction)) == pytest.approx(1, abs=1e-12)
    assert len(read_rows(tmp_path / "mlp/predicted_alignment.csv")) == 11
    rows = read_rows(tmp_path / "mlp/analysis.csv")
    assert {r["layer"] for r in rows if r["align_v1"] != ""} == {"1"}
