"""condense.import_checkpoints and `python3 -m condense import-checkpoints` (docs/python.md): a
series of state_dicts saved over a training, written as a run directory whose RD, heatmaps and
report exist; RD checked against numpy; bad checkpoints refused with clear errors."""

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch

import condense
from helpers import read_rows


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, 3)
        self.bn1 = torch.nn.BatchNorm2d(6)
        self.fc1 = torch.nn.Linear(6 * 26 * 26, 4)

    def forward(self, x):
        return self.fc1(torch.flatten(torch.tanh(self.bn1(self.conv1(x))), 1))


STEPS = [0, 5, 10, 20, 40]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, fashion_mnist):
    """Checkpoints of one training saved by torch.save at STEPS: ckpt_step<k>.pt (state_dicts
    with BatchNorm statistics), and the state_dicts themselves."""
    images, labels = fashion_mnist
    x, y = torch.from_numpy(images[:100]), torch.from_numpy(labels[:100]) % 4
    torch.manual_seed(0)
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    folder = tmp_path_factory.mktemp("checkpoints")
    saved = {}
    for step in range(STEPS[-1] + 1):
        if step in STEPS:
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            torch.save(state, folder / f"ckpt_step{step}.pt")
            saved[step] = state
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return folder, saved


def test_rd_against_the_first_checkpoint_is_numpy_s(checkpoints, tmp_path, run_condense):
    folder, saved = checkpoints
    files = [folder / f"ckpt_step{s}.pt" for s in (20, 0, 40, 5, 10)]  # any order: by name
    run = condense.import_checkpoints(files, tmp_path / "run", description="a small CNN")
    assert run == tmp_path / "run"
    assert [int(r["step"]) for r in read_rows(run / "snapshots/index.csv")] == STEPS
    rows = read_rows(run / "analysis.csv")
    assert [r["layer"] for r in rows if r["step"] == "40"] == ["conv1", "fc1"]
    for row in rows:
        step, layer = int(row["step"]), row["layer"]
        now = [saved[step][f"{layer}.{k}"].double().numpy() for k in ("weight", "bias")]
        first = [saved[0][f"{layer}.{k}"].double().numpy() for k in ("weight", "bias")]
        distance = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(now, first)))
        rd = distance / np.sqrt(sum(np.sum(b ** 2) for b in first))
        assert float(row["rd"]) == pytest.approx(rd, rel=1e-9, abs=1e-300), (step, layer)
        norm = np.sqrt(sum(np.sum(a ** 2) for a in now))
        assert float(row["norm"]) == pytest.approx(norm, rel=1e-9)
    # Conv and linear weights and biases only: no BatchNorm parameters or statistics.
    assert sorted(p.name for p in (run / "snapshots/step_5").iterdir()) == [
        "conv1.bias.npy", "conv1.weight.npy", "fc1.bias.npy", "fc1.weight.npy"]
    assert np.array_equal(np.load(run / "snapshots/step_20/fc1.weight.npy"),
                          saved[20]["fc1.weight"].numpy())
    for figure in ("heatmaps_conv1", "heatmaps_fc1", "condensation", "kernels"):
        assert (run / f"figures/{figure}.png").is_file(), figure
    assert (run / "report.html").is_file()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 40
    assert "ckpt_step0.pt (step 0)" in (run / "config.toml").read_text()
    # condense analyze measures the snapshots again: the same numbers.
    written = (run / "analysis.csv").read_bytes()
    run_condense("analyze", run, "--quiet")
    assert (run / "analysis.csv").read_bytes() == written


def test_the_command_without_step_0_measures_rd_against_its_first(checkpoints, tmp_path,
                                                                  run_condense):
    folder, saved = checkpoints
    run = tmp_path / "cli"
    result = subprocess.run(
        [sys.executable, "-m", "condense", "import-checkpoints", folder / "ckpt_step20.pt",
         folder / "ckpt_step40.pt", "--out", run, "--steps", "3,7", "--no-report"],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = read_rows(run / "analysis.csv")
    assert [(r["step"], r["layer"]) for r in rows] == [("3", "conv1"), ("3", "fc1"),
                                                      ("7", "conv1"), ("7", "fc1")]
    assert float(rows[0]["rd"]) == 0
    w3, w7 = saved[20]["conv1.weight"].double(), saved[40]["conv1.weight"].double()
    b3, b7 = saved[20]["conv1.bias"].double(), saved[40]["conv1.bias"].double()
    rd = float(torch.sqrt(((w7 - w3) ** 2).sum() + ((b7 - b3) ** 2).sum()) /
               torch.sqrt((w3 ** 2).sum() + (b3 ** 2).sum()))
    assert float(rows[2]["rd"]) == pytest.approx(rd, rel=1e-9)
    assert not (run / "report.html").exists()
    written = (run / "analysis.csv").read_bytes()
    run_condense("analyze", run, "--quiet")
    assert (run / "analysis.csv").read_bytes() == written
    run_condense("report", run, "--no-pdf")
    assert (run / "report.html").is_file()


def write_safetensors(path, tensors):
    """A safetensors file as the format describes it, without the safetensors package."""
    header, data = {}, b""
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        dtype = {np.float32: "F32", np.float64: "F64"}[array.dtype.type]
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [len(data), len(data) + array.nbytes]}
        data += array.tobytes()
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def test_safetensors_files_npy_folders_and_checkpoint_dicts(checkpoints, tmp_path):
    folder, saved = checkpoints
    numpy_of = {s: {k: v.numpy() for k, v in saved[s].items() if v.is_floating_point()}
                for s in saved}
    # safetensors (float64 weights stay float64).
    write_safetensors(tmp_path / "a_0.safetensors",
                      {k: v.astype(np.float64) for k, v in numpy_of[0].items()})
    write_safetensors(tmp_path / "a_10.safetensors",
                      {k: v.astype(np.float64) for k, v in numpy_of[10].items()})
    run = condense.import_checkpoints([tmp_path / "a_10.safetensors",
                                       tmp_path / "a_0.safetensors"], tmp_path / "st",
                                      report=False)
    weight = np.load(run / "snapshots/step_10/conv1.weight.npy")
    assert weight.dtype == np.float64
    assert np.array_equal(weight, numpy_of[10]["conv1.weight"].astype(np.float64))
    # Folders of .npy files, steps from their names.
    for step in (0, 5):
        os.makedirs(tmp_path / f"epoch{step}")
        for k, v in numpy_of[step].items():
            np.save(tmp_path / f"epoch{step}" / f"{k}.npy", v)
    run = condense.import_checkpoints([tmp_path / "epoch5", tmp_path / "epoch0"],
                                      tmp_path / "npy", report=False)
    assert [int(r["step"]) for r in read_rows(run / "snapshots/index.csv")] == [0, 5]
    # A checkpoint dict with the state_dict inside and an optimizer beside it; names without
    # numbers are taken in their order.
    for name, step in (("first.pt", 0), ("second.pt", 40)):
        torch.save({"state_dict": saved[step], "epoch": step, "optimizer": {"step": 7}},
                   tmp_path / name)
    run = condense.import_checkpoints([tmp_path / "first.pt", tmp_path / "second.pt"],
                                      tmp_path / "dicts", report=False)
    assert [int(r["step"]) for r in read_rows(run / "snapshots/index.csv")] == [0, 1]
    assert np.array_equal(np.load(run / "snapshots/step_1/conv1.weight.npy"),
                          numpy_of[40]["conv1.weight"])


def test_bad_checkpoints_are_refused_with_clear_errors(checkpoints, tmp_path, run_condense):
    folder, saved = checkpoints
    first = folder / "ckpt_step0.pt"
    with pytest.raises(FileNotFoundError, match="missing.pt: no such file"):
        condense.import_checkpoints([first, tmp_path / "missing.pt"], tmp_path / "a")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="garbage.pt: cannot be read as a PyTorch checkpoint"):
        condense.import_checkpoints([first, garbage], tmp_path / "b", steps=[0, 1])
    # A checkpoint of another model: the tensors that differ are named.
    other = {k: v for k, v in saved[5].items() if k != "conv1.bias"}
    other["fc1.weight"] = torch.zeros(3, 6 * 26 * 26)
    other["fc2.weight"] = torch.zeros(2, 3)
    torch.save(other, tmp_path / "other.pt")
    with pytest.raises(ValueError) as error:
        condense.import_checkpoints([first, tmp_path / "other.pt"], tmp_path / "c",
                                    steps=[0, 5], report=False)
    message = str(error.value)
    assert "other.pt: its tensors differ from those of the first checkpoint" in message
    assert "missing conv1.bias" in message
    assert "not in the first: fc2.weight" in message
    assert "fc1.weight has shape (3, 4056), the first has (4, 4056)" in message
    # The run keeps the checkpoints before the bad one and says why it stopped.
    summary = json.loads((tmp_path / "c/summary.json").read_text())
    assert summary["status"] == "failed" and "fc2.weight" in summary["message"]
    torch.save({"bn.weight": torch.ones(4), "bn.running_mean": torch.zeros(4)},
               tmp_path / "bn_only.pt")
    with pytest.raises(ValueError, match="bn_only.pt: no conv or linear weights"):
        condense.import_checkpoints([tmp_path / "bn_only.pt"], tmp_path / "d")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="list.pt: holds a list; expected a state_dict"):
        condense.import_checkpoints([tmp_path / "list.pt"], tmp_path / "e")
    torch.save({"epoch": 3}, tmp_path / "no_tensors.pt")
    with pytest.raises(ValueError, match=r"no_tensors.pt: holds a dict without tensors \(keys: "
                                         r"epoch\)"):
        condense.import_checkpoints([tmp_path / "no_tensors.pt"], tmp_path / "f")
    # NaN weights are saved but not measured, with a warning naming the file and the tensor.
    diverged = {k: v.clone() for k, v in saved[40].items()}
    diverged["fc1.weight"][0, 0] = float("nan")
    torch.save(diverged, tmp_path / "diverged.pt")
    with pytest.warns(RuntimeWarning, match=r"diverged.pt \(step 1\): fc1: 1 of its 16228 values are NaN"):
        condense.import_checkpoints([first, tmp_path / "diverged.pt"], tmp_path / "nan",
                                    report=False)
    assert np.isnan(np.load(tmp_path / "nan/snapshots/step_1/fc1.weight.npy")[0, 0])
    assert [r["layer"] for r in read_rows(tmp_path / "nan/analysis.csv")
            if r["step"] == "1"] == ["conv1"]
    written = (tmp_path / "nan/analysis.csv").read_bytes()
    analyzed = run_condense("analyze", tmp_path / "nan")
    assert "step 1: fc1: 1 of its 16228 values are NaN or infinite; the layer is not measured" \
        in analyzed.stderr
    assert (tmp_path / "nan/analysis.csv").read_bytes() == written
    with pytest.raises(ValueError, match="2 steps for 1 checkpoints"):
        condense.import_checkpoints([first], tmp_path / "g", steps=[0, 1])
    with pytest.raises(ValueError, match="step 3 is given to two checkpoints"):
        condense.import_checkpoints([first, first], tmp_path / "h", steps=[3, 3])
    with pytest.raises(ValueError, match="no checkpoints given"):
        condense.import_checkpoints([], tmp_path / "i")
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    with pytest.raises(ValueError, match="empty_folder: a folder without .npy files"):
        condense.import_checkpoints([empty], tmp_path / "j")
    # A safetensors file the library refuses: the message names the file.
    (tmp_path / "broken.safetensors").write_bytes(struct.pack("<Q", 1000) + b"{}")
    with pytest.raises(ValueError, match="broken.safetensors"):
        condense.import_checkpoints([tmp_path / "broken.safetensors"], tmp_path / "k")
    # The command: exit code 2 and the message.
    result = subprocess.run([sys.executable, "-m", "condense", "import-checkpoints", first,
                             garbage, "--out", tmp_path / "l", "--steps", "0,1"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "condense: error: " in result.stderr and "garbage.pt" in result.stderr
    result = subprocess.run([sys.executable, "-m", "condense", "import-checkpoints", first,
                             "--out", tmp_path / "m", "--steps", "0,x"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "expected integers separated by commas" in result.stderr
