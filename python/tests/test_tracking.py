"""condense.Tracker (docs/python.md): PyTorch trainings recorded into run directories that the
condense executable reads (report, analyze, compare), their numbers checked against numpy, bad
input refused, and the tracker's cost."""

import json
import shutil
import time
import tomllib
import warnings

import numpy as np
import pytest
import torch

import condense
from helpers import read_rows, small_init
from condense import _core


class TwoLayerCnn(torch.nn.Module):
    """The two-layer CNN of docs/science.md §2.1: 8 kernels 3×3, tanh, a linear readout."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 3, bias=False)
        self.fc1 = torch.nn.Linear(8 * 26 * 26, 1, bias=False)

    def forward(self, x):
        return self.fc1(torch.flatten(torch.tanh(self.conv1(x)), 1))


class Block(torch.nn.Module):
    """A residual block as torchvision's BasicBlock, with a 1×1 downsample when the shape
    changes."""

    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(outputs)
        self.conv2 = torch.nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(outputs)
        self.downsample = None
        if stride != 1 or inputs != outputs:
            self.downsample = torch.nn.Sequential(
                torch.nn.Conv2d(inputs, outputs, 1, stride, bias=False),
                torch.nn.BatchNorm2d(outputs))

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + shortcut)


class SmallResNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.layer1 = torch.nn.Sequential(Block(8, 8, 1))
        self.layer2 = torch.nn.Sequential(Block(8, 16, 2))
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.pool(x), 1))


RESNET_LAYERS = ["conv1", "layer1.0.conv1", "layer1.0.conv2", "layer2.0.conv1", "layer2.0.conv2",
                 "layer2.0.downsample.0", "fc"]


def binary_data(fashion_mnist):
    images, labels = fashion_mnist
    x = torch.from_numpy(images)
    y = torch.where(torch.from_numpy(labels) < 5, 1.0, -1.0)[:, None]
    return x, y


@pytest.fixture(scope="module")
def two_layer_run(tmp_path_factory, fashion_mnist):
    """The two-layer CNN from std 1e-6, full-batch SGD (gradient descent) on 300 images, 300
    steps, tracked at the log schedule with the theory's prediction made from the data; with the
    weights of step 10 kept aside."""
    x, y = binary_data(fashion_mnist)
    torch.manual_seed(0)
    model = TwoLayerCnn()
    small_init(model, 1e-6)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.005)
    run = tmp_path_factory.mktemp("tracked") / "two_layer"
    kept = {}
    with condense.Tracker(model, run, total_steps=300, optimizer=optimizer,
                          description="300 Fashion-MNIST images, ±1 targets", data=(x, y),
                          activation="tanh", loss="mse") as tracker:
        for step in range(300):
            loss = 0.5 * ((model(x) - y) ** 2).mean()
            if step == 10:
                kept = {k: v.detach().clone().numpy() for k, v in model.state_dict().items()}
            tracker.step(step, loss=loss, grad_norm=float(model.conv1.weight.grad.norm())
                         if model.conv1.weight.grad is not None else None)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return run, model, kept


def test_two_layer_cnn_condenses_on_one_line(two_layer_run):
    run, model, _ = two_layer_run
    rows = read_rows(run / "analysis.csv")
    last = [r for r in rows if r["step"] == "300"]
    assert [r["layer"] for r in last] == ["conv1", "fc1"]
    conv1 = last[0]
    assert conv1["n_lines"] == "1"
    assert float(conv1["mean_abs_cos"]) > 0.999
    # At step 0 the 8 random kernels point everywhere.
    first = [r for r in rows if r["step"] == "0" and r["layer"] == "conv1"][0]
    assert int(first["n_lines"]) >= 6
    # The measures of numpy from the snapshot: mean |cos| over the non-negligible kernels, RD.
    w = np.load(run / "snapshots/step_300/conv1.weight.npy").astype(np.float64).reshape(8, -1)
    norms = np.linalg.norm(w, axis=1)
    kept = norms >= 0.01 * norms.max()
    u = w[kept] / norms[kept, None]
    cos = np.abs(u @ u.T)
    m = len(u)
    assert float(conv1["mean_abs_cos"]) == pytest.approx((cos.sum() - m) / (m * (m - 1)),
                                                         rel=1e-9)
    w0 = np.load(run / "snapshots/step_0/conv1.weight.npy").astype(np.float64)
    rd = np.linalg.norm(w.reshape(w0.shape) - w0) / np.linalg.norm(w0)
    assert float(conv1["rd"]) == pytest.approx(rd, rel=1e-9)
    # The final snapshot holds the weights after 300 steps, as the module has them.
    assert np.array_equal(np.load(run / "snapshots/step_300/conv1.weight.npy"),
                          model.conv1.weight.detach().numpy())


def test_two_layer_cnn_aligns_with_the_packages_v1_before_t_lin(two_layer_run, fashion_mnist):
    run, _, _ = two_layer_run
    x, y = binary_data(fashion_mnist)
    # The package's own prediction for this network and these data, made here independently; the
    # init sizes (epsilon) are those of the step-0 weights.
    def rms(name):
        w = np.load(run / f"snapshots/step_0/{name}.weight.npy").astype(np.float64)
        return float(np.sqrt(np.mean(w * w)))

    p = condense.predict(x, y, kernels=8, kernel=3, activation="tanh", loss="mse",
                         init_std=rms("conv1"), readout_std=rms("fc1"), lr=0.005,
                         optimizer="sgd", description="300 Fashion-MNIST images, ±1 targets")
    assert np.array_equal(np.load(run / "v1.npy"), p.v1)
    written = json.loads((run / "prediction.json").read_text())
    assert written == p.to_json() and "scope" not in written
    t_lin = p.t_lin.steps
    assert 100 < t_lin < 130
    # mean |cos(W_beta, v1)| over the non-negligible kernels (norm at least 1 % of the largest,
    # docs/analysis.md), by numpy from the snapshots, against analysis.csv's align_v1.
    v1 = p.v1.reshape(-1)
    rows = {int(r["step"]): r for r in read_rows(run / "analysis.csv") if r["layer"] == "conv1"}
    aligned_before = []
    for step in rows:
        w = np.load(run / f"snapshots/step_{step}/conv1.weight.npy").astype(np.float64)
        w = w.reshape(8, -1)
        norms = np.linalg.norm(w, axis=1)
        kept = norms >= 0.01 * norms.max()
        alignment = np.mean(np.abs(w[kept] @ v1) / norms[kept])
        assert float(rows[step]["align_v1"]) == pytest.approx(alignment, rel=1e-9)
        if step < t_lin and alignment >= 0.99:
            aligned_before.append(step)
        if step < t_lin and step >= 100:
            assert rows[step]["n_lines"] == "1"
    assert aligned_before and aligned_before[0] < 100
    assert float(rows[0]["align_v1"]) < 0.5  # the random kernels at step 0
    # The predicted curve from the run's initial weights, and the report's alignment figure.
    curve = read_rows(run / "predicted_alignment.csv")
    assert [int(r["step"]) for r in curve] == list(range(301))
    assert float(curve[100]["predicted_alignment"]) > 0.99
    assert (run / "figures/alignment.png").is_file()
    assert "Alignment with the predicted direction" in (run / "report.html").read_text()


def test_snapshots_follow_the_log_schedule_and_hold_the_weights_of_their_step(two_layer_run):
    run, _, kept = two_layer_run
    index = read_rows(run / "snapshots/index.csv")
    steps = [int(r["step"]) for r in index]
    assert steps == _core.snapshot_steps("log", 20, [], 300)
    assert steps[:11] == list(range(11)) and steps[-1] == 300
    for step in steps:
        files = sorted(p.name for p in (run / f"snapshots/step_{step}").iterdir())
        assert files == ["conv1.weight.npy", "fc1.weight.npy"]
    # Step 10's snapshot is the weights after 10 optimizer steps, bit for bit, in float32.
    saved = np.load(run / "snapshots/step_10/conv1.weight.npy")
    assert saved.dtype == np.float32
    assert np.array_equal(saved, kept["conv1.weight"])
    assert np.array_equal(np.load(run / "snapshots/step_10/fc1.weight.npy"), kept["fc1.weight"])


def test_metrics_config_and_summary(two_layer_run):
    run, _, _ = two_layer_run
    with open(run / "metrics.csv") as f:
        header = f.readline().strip().split(",")
    assert header == ["step", "epoch", "time_s", "lr", "train_loss", "train_acc", "test_loss",
                      "test_acc", "grad_norm"]
    metrics = read_rows(run / "metrics.csv")
    assert [int(r["step"]) for r in metrics] == list(range(300))
    assert metrics[0]["lr"] == "0.005" and metrics[0]["epoch"] == ""
    assert metrics[0]["train_acc"] == "" and metrics[0]["grad_norm"] == ""
    assert float(metrics[0]["train_loss"]) == pytest.approx(0.5, rel=1e-6)
    assert float(metrics[-1]["train_loss"]) < 0.25
    assert float(metrics[5]["grad_norm"]) > 0
    config = tomllib.loads((run / "config.toml").read_text())
    assert set(config) == {"external", "track"}
    external = config["external"]
    assert external["trained_with"] == "pytorch"
    assert external["model_class"].endswith("TwoLayerCnn")
    assert "Conv2d(1, 8" in external["model"]
    assert external["parameters"] == [{"name": "conv1.weight", "shape": [8, 1, 3, 3]},
                                      {"name": "fc1.weight", "shape": [1, 5408]}]
    assert external["optimizer_class"] == "torch.optim.sgd.SGD"
    assert external["optimizer"][0]["lr"] == 0.005
    assert config["track"]["snapshots"] == "log"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["steps"] == 300 and summary["total_steps"] == 300
    assert summary["data"] == "300 Fashion-MNIST images, ±1 targets"
    assert summary["dtype"] == "float32"
    assert summary["parameters"] == 8 * 9 + 5408
    assert summary["training_seconds"] > 0 and summary["analysis_seconds"] > 0
    assert summary["final"]["step"] == 299
    assert (run / ".condense-run").is_file()


def test_the_command_line_reads_the_tracked_run(two_layer_run, run_condense, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(two_layer_run[0], run)
    (run / "report.html").unlink()
    shutil.rmtree(run / "figures")
    result = run_condense("report", run, "--no-pdf")
    assert (run / "report.html").is_file()
    assert (run / "figures/heatmaps_conv1.png").is_file()
    assert (run / "figures/kernels.png").is_file()
    assert "TwoLayerCnn" in (run / "report.html").read_text()
    assert result.returncode == 0
    # analyze measures the snapshots again, independently of the tracker: the same file.
    written = (run / "analysis.csv").read_bytes()
    (run / "analysis.csv").unlink()
    shutil.rmtree(run / "cosines")
    run_condense("analyze", run, "--quiet")
    assert (run / "analysis.csv").read_bytes() == written
    assert np.array_equal(np.load(run / "cosines/step_300/conv1.npy"),
                          np.load(two_layer_run[0] / "cosines/step_300/conv1.npy"))
    # train refuses the run: condense cannot train a PyTorch model.
    refused = run_condense("train", "--resume", run, check=False)
    assert refused.returncode == 2
    assert "was trained outside condense (PyTorch); condense cannot train it" in refused.stderr


def test_residual_cnn_every_conv_layer_tracked_batch_norm_skipped(tmp_path, fashion_mnist,
                                                                  run_condense):
    images, labels = fashion_mnist
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    torch.manual_seed(1)
    model = SmallResNet()
    small_init(model, 1e-3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    run = tmp_path / "resnet"
    tracker = condense.Tracker(model, run, schedule="log", per_decade=10)
    tracker.hook(optimizer)
    assert tracker.hook(optimizer) is tracker.hook(optimizer)  # the same optimizer: one hook
    for epoch in range(60):  # 300 steps
        for batch in range(0, 300, 60):
            logits = model(x[batch:batch + 60])
            loss = torch.nn.functional.cross_entropy(logits, y[batch:batch + 60])
            accuracy = (logits.argmax(1) == y[batch:batch + 60]).float().mean()
            tracker.step(loss=loss, epoch=epoch + batch / 300, accuracy=accuracy)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    assert tracker.last_step == 300
    tracker.close()
    batch_norm = [f"{name}.{kind}" for name, sub in model.named_modules()
                  if isinstance(sub, torch.nn.BatchNorm2d) for kind in ("weight", "bias")]
    assert tracker.untracked == batch_norm
    assert "layer2.0.downsample.1.weight" in tracker.untracked
    rows = read_rows(run / "analysis.csv")
    steps = sorted({int(r["step"]) for r in rows})
    assert steps == _core.snapshot_steps("log", 10, [], 300)
    for step in steps:
        assert [r["layer"] for r in rows if int(r["step"]) == step] == RESNET_LAYERS
    saved = sorted(p.name[:-4] for p in (run / "snapshots/step_300").iterdir())
    assert saved == sorted([f"{layer}.weight" for layer in RESNET_LAYERS] + ["fc.bias"])
    downsample = np.load(run / "snapshots/step_300/layer2.0.downsample.0.weight.npy")
    assert downsample.shape == (16, 8, 1, 1)
    assert np.array_equal(downsample, model.layer2[0].downsample[0].weight.detach().numpy())
    metrics = read_rows(run / "metrics.csv")
    assert [int(r["step"]) for r in metrics] == list(range(300))
    assert float(metrics[-1]["train_loss"]) < float(metrics[0]["train_loss"]) - 0.3  # it learns
    assert float(metrics[6]["epoch"]) == pytest.approx(1.2)
    assert metrics[0]["lr"] == "0.001"
    # The report: a heatmap per layer (the 1×1 shortcut and the head too), the kernel images.
    for layer in RESNET_LAYERS:
        assert (run / f"figures/heatmaps_{layer}.png").is_file(), layer
    assert (run / "figures/kernels.png").is_file()
    assert (run / "report.html").is_file()
    written = (run / "analysis.csv").read_bytes()
    run_condense("analyze", run, "--quiet")
    assert (run / "analysis.csv").read_bytes() == written
    compare = tmp_path / "compare"
    run_condense("compare", run, run, "--metric", "rd", "--layer", "layer2.0.downsample.0",
                 "--no-pdf", "--out", compare)
    assert (compare / "compare_rd.png").is_file()
    table = read_rows(compare / "compare.csv")
    assert table[0]["layer"] == "layer2.0.downsample.0"


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the report is complete
def test_an_exception_marks_the_run_failed_and_an_interrupt_interrupted(tmp_path):
    model = TwoLayerCnn()
    with pytest.raises(RuntimeError, match="out of patience"):
        with condense.Tracker(model, tmp_path / "failed") as tracker:
            tracker.step(0, loss=1.0)
            tracker.step(1, loss=0.5)
            raise RuntimeError("out of patience")
    summary = json.loads((tmp_path / "failed/summary.json").read_text())
    assert summary["status"] == "failed"
    assert summary["message"] == "RuntimeError: out of patience"
    assert (tmp_path / "failed/report.html").is_file()
    with pytest.raises(KeyboardInterrupt):
        with condense.Tracker(model, tmp_path / "stopped") as tracker:
            tracker.step(0, loss=1.0)
            raise KeyboardInterrupt
    summary = json.loads((tmp_path / "stopped/summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert summary["message"] == "stopped by KeyboardInterrupt at step 0"


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the report is complete
def test_every_k_steps_and_extra_steps_without_an_optimizer(tmp_path):
    model = TwoLayerCnn()
    with condense.Tracker(model, tmp_path / "every", every=7, steps=[3]) as tracker:
        for step in range(30):
            tracker.step(step)
    index = [int(r["step"]) for r in read_rows(tmp_path / "every/snapshots/index.csv")]
    assert index == [0, 3, 7, 14, 21, 28, 29]
    config = tomllib.loads((tmp_path / "every/config.toml").read_text())
    assert config["track"]["snapshots"] == "every:7"
    assert config["track"]["extra_steps"] == [3]
    assert "optimizer_class" not in config["external"]
    # Counted by the optimizer's hook, with total_steps: the steps of condense train.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    with condense.Tracker(model, tmp_path / "hooked", every=7, steps=[3], total_steps=30,
                          optimizer=optimizer) as tracker:
        for step in range(30):
            tracker.step(loss=1.0)
            optimizer.step()
    index = [int(r["step"]) for r in read_rows(tmp_path / "hooked/snapshots/index.csv")]
    assert index == _core.snapshot_steps("every:7", 20, [3], 30) == [0, 3, 7, 14, 21, 28, 30]


def test_without_a_hook_a_short_close_warns(tmp_path):
    model = TwoLayerCnn()
    tracker = condense.Tracker(model, tmp_path / "short", total_steps=5)
    for step in range(5):
        tracker.step(step, loss=1.0)
    with pytest.warns(RuntimeWarning, match=r"close\(step=5\) says so"):
        tracker.close(report=False)
    tracker = condense.Tracker(model, tmp_path / "told", total_steps=5)
    for step in range(5):
        tracker.step(step, loss=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracker.close(step=5, report=False)
    index = [int(r["step"]) for r in read_rows(tmp_path / "told/snapshots/index.csv")]
    assert index[-1] == 5


def test_bad_input_is_refused_with_clear_errors(tmp_path):
    model = TwoLayerCnn()
    with pytest.raises(TypeError, match="expected a torch.nn.Module"):
        condense.Tracker({"conv1.weight": torch.zeros(2, 1, 3, 3)}, tmp_path / "a")
    with pytest.raises(ValueError, match="has no Conv2d or Linear layer"):
        condense.Tracker(torch.nn.Sequential(torch.nn.BatchNorm2d(3)), tmp_path / "b")
    with pytest.raises(ValueError, match=r"wrap it: torch.nn.Sequential\(module\)"):
        condense.Tracker(torch.nn.Linear(3, 2), tmp_path / "c")
    with pytest.raises(ValueError, match=r'schedule "every:0": expected "log", "every:K"'):
        condense.Tracker(model, tmp_path / "d", schedule="every:0")
    with pytest.raises(ValueError, match="does not go with schedule='none'"):
        condense.Tracker(model, tmp_path / "e", schedule="none", every=5)
    with pytest.raises(ValueError, match="threshold must be a number in \\(0, 1\\), got 1.5"):
        condense.Tracker(model, tmp_path / "f", threshold=1.5)
    with pytest.raises(ValueError, match="total_steps must be an integer ≥ 0"):
        condense.Tracker(model, tmp_path / "g", total_steps=-1)
    # A folder that is not a run directory is never replaced, a run directory only on request.
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="is not a condense run directory"):
        condense.Tracker(model, stranger, overwrite=True)
    assert (stranger / "notes.txt").read_text() == "mine"
    condense.Tracker(model, tmp_path / "run").close(report=False)
    with pytest.raises(ValueError, match="already exists; give another directory, or "
                                         "overwrite=True to replace it"):
        condense.Tracker(model, tmp_path / "run")
    tracker = condense.Tracker(model, tmp_path / "run", overwrite=True, total_steps=10)
    with pytest.raises(ValueError, match="step\\(\\) needs the step"):
        tracker.step(loss=1.0)
    tracker.step(3, loss=1.0)
    with pytest.raises(ValueError, match=r"step\(2\) comes after step\(3\)"):
        tracker.step(2)
    with pytest.raises(ValueError, match="step 11 is beyond total_steps=10"):
        tracker.step(11)
    with pytest.raises(ValueError, match="loss: 'low' is not a number"):
        tracker.step(4, loss="low")
    with pytest.raises(ValueError, match="a Tensor of shape \\(2,\\); expected one number"):
        tracker.step(4, loss=torch.zeros(2))
    with pytest.raises(ValueError, match="train_loss is a column of its own; give it as loss="):
        tracker.step(4, train_loss=1.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    tracker.hook(optimizer)
    with pytest.raises(ValueError, match="already counts the steps of another optimizer"):
        tracker.hook(torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="the optimizer has made 3 steps"):
        tracker.step(4, loss=1.0)
    with pytest.raises(ValueError, match='status must be "completed"'):
        tracker.close("done")
    tracker.close(report=False)
    tracker.close()  # closing twice does nothing
    with pytest.raises(ValueError, match="is closed"):
        tracker.step(5)
    # A step given again adds to its row.
    tracker = condense.Tracker(model, tmp_path / "merged")
    tracker.step(0, loss=1.0)
    tracker.step(0, test_loss=2.0)
    tracker.step(1, loss=np.float32(0.5), accuracy=np.array([0.25]), norm=torch.tensor(3.0))
    tracker.close(report=False)
    metrics = read_rows(tmp_path / "merged/metrics.csv")
    assert len(metrics) == 2
    assert metrics[0]["train_loss"] == "1" and metrics[0]["test_loss"] == "2"
    assert metrics[1]["train_loss"] == "0.5" and metrics[1]["train_acc"] == "0.25"
    assert metrics[1]["norm"] == "3" and metrics[0]["norm"] == ""


def train_small_cnn(x, y, steps, tracker_path=None):
    """A small CNN (16 kernels 3×3, tanh, max-pool, Linear) trained by SGD on mini-batches of
    100; returns the seconds the loop took and the tracker."""
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.Tanh(),
                                torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(16 * 14 * 14, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    tracker = None
    started = time.perf_counter()
    if tracker_path is not None:
        tracker = condense.Tracker(model, tracker_path, total_steps=steps, optimizer=optimizer)
    for step in range(steps):
        batch = slice((step % 3) * 100, (step % 3) * 100 + 100)
        loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
        if tracker is not None:
            tracker.step(step, loss=loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if tracker is not None:
        tracker.close(report=False)
    return time.perf_counter() - started, tracker


def test_the_tracker_costs_little(tmp_path, fashion_mnist):
    images, labels = fashion_mnist
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    steps = 600
    train_small_cnn(x, y, 20)  # warm up
    plain, tracked, inside = [], [], []
    for repeat in range(2):
        plain.append(train_small_cnn(x, y, steps)[0])
        seconds, tracker = train_small_cnn(x, y, steps, tmp_path / f"run{repeat}")
        tracked.append(seconds)
        inside.append(tracker.seconds / seconds)
    snapshots = len(_core.snapshot_steps("log", 20, [], steps))
    print(f"\ntracker overhead: {steps} steps, {snapshots} snapshots: without {min(plain):.2f} s, "
          f"with {min(tracked):.2f} s, ratio {min(tracked) / min(plain):.3f}; time inside the "
          f"tracker {100 * min(inside):.1f}% of the tracked loop")
    # The time the loop spends inside the tracker, measured in the same run, is the part that does
    # not depend on the machine's load from one run to the next.
    assert min(inside) < 0.05


def test_weights_turned_nan_are_saved_but_not_measured(tmp_path, run_condense):
    model = TwoLayerCnn()
    tracker = condense.Tracker(model, tmp_path / "nan", every=1)
    tracker.step(0, loss=1.0)
    with torch.no_grad():
        model.fc1.weight[0, :3] = float("nan")
    with pytest.warns(RuntimeWarning, match=r"step 1: fc1: 3 of its 5408 values are NaN or "
                                            r"infinite; the layer is not measured"):
        tracker.step(1, loss=float("nan"))
    tracker.close("diverged", "the loss is nan at step 1", report=False)
    rows = read_rows(tmp_path / "nan/analysis.csv")
    assert [(r["step"], r["layer"]) for r in rows] == [("0", "conv1"), ("0", "fc1"),
                                                      ("1", "conv1")]
    assert np.isnan(np.load(tmp_path / "nan/snapshots/step_1/fc1.weight.npy")[0, 0])
    assert read_rows(tmp_path / "nan/metrics.csv")[1]["train_loss"] == ""
    summary = json.loads((tmp_path / "nan/summary.json").read_text())
    assert summary["status"] == "diverged"
    written = (tmp_path / "nan/analysis.csv").read_bytes()
    run_condense("analyze", tmp_path / "nan", "--quiet")
    assert (tmp_path / "nan/analysis.csv").read_bytes() == written
