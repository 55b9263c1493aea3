"""condense.train writes the run directory of `condense train`; condense.Run reads any run
directory with the command line's readers."""

import csv
import json
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib

import numpy as np
import pytest

import condense
from condense._toml import toml_text

# tests/test_cli.cpp's small config: a conv layer on gaussian images, mini-batch SGD, 40 steps.
SMALL_CONFIG = {
    "seed": 3,
    "dtype": "float64",
    "threads": 1,
    "data": {"dataset": "gaussian", "gaussian_shape": [1, 6, 6], "train_size": 48,
             "test_size": 16, "target": "binary", "positive_classes": [0]},
    "model": {"conv": [{"channels": 4, "kernel": 3, "padding": 1}], "activation": "tanh"},
    "init": {"std": 0.1},
    "train": {"optimizer": "sgd", "momentum": 0.9, "batch_size": 16, "lr": 0.05, "steps": 40},
}

TIMING_FIELDS = {"analysis_seconds", "training_seconds", "wall_seconds", "finished_at"}


def config_with(**sections):
    """SMALL_CONFIG with some sections' keys replaced: config_with(train={"lr": 1e6})."""
    config = json.loads(json.dumps(SMALL_CONFIG))
    for section, keys in sections.items():
        config[section].update(keys)
    return config


def write_toml(path, config):
    path.write_text(toml_text(config))
    return path


def files_under(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def metrics_without_time(path):
    rows = list(csv.reader(path.read_text().splitlines()))
    column = rows[0].index("time_s")
    return [row[:column] + row[column + 1:] for row in rows]


def assert_same_run_directory(python_run, cli_run):
    """The run directories agree byte for byte, timings aside: time_s of metrics.csv, the times
    of summary.json, and the checkpoint (it records the elapsed time) and figures (PDF dates)."""
    python_run, cli_run = pathlib.Path(python_run), pathlib.Path(cli_run)
    assert files_under(python_run) == files_under(cli_run)
    assert metrics_without_time(python_run / "metrics.csv") == \
        metrics_without_time(cli_run / "metrics.csv")
    compared = 0
    for relative in files_under(cli_run):
        top = relative.parts[0]
        if top in ("snapshots", "cosines") or str(relative) in (
                "config.toml", "analysis.csv", "prediction.json", "v1.npy",
                "predicted_alignment.csv", ".condense-run"):
            assert (python_run / relative).read_bytes() == (cli_run / relative).read_bytes(), \
                relative
            compared += 1
    assert compared > 50  # every snapshot and cosine file
    mine = json.loads((python_run / "summary.json").read_text())
    theirs = json.loads((cli_run / "summary.json").read_text())
    for field in TIMING_FIELDS:
        mine.pop(field), theirs.pop(field)
    assert mine == theirs


@pytest.fixture(scope="module")
def runs(tmp_path_factory, run_condense):
    """The small config trained by condense.train from a dict and by `condense train`."""
    root = tmp_path_factory.mktemp("runs")
    config_file = write_toml(root / "small.toml", SMALL_CONFIG)
    run_condense("train", config_file, "--quiet", "--out", root / "cli")
    run = condense.train(SMALL_CONFIG, out=root / "python", quiet=True)
    return {"root": root, "config_file": config_file, "python": run, "cli": root / "cli"}


def test_a_dict_config_trains_the_run_directory_of_condense_train(runs):
    run = runs["python"]
    assert isinstance(run, condense.Run)
    assert run.status == "completed"
    assert (run.path / "report.html").is_file()
    assert_same_run_directory(run.path, runs["cli"])


def test_a_toml_path_trains_the_same_run(runs, tmp_path):
    run = condense.train(runs["config_file"], out=tmp_path / "run", quiet=True, report=False)
    assert run.status == "completed"
    for name in ("config.toml", "analysis.csv", "snapshots/index.csv",
                 "snapshots/step_40/conv1.weight.npy", "snapshots/step_40/fc1.weight.npy"):
        assert (run.path / name).read_bytes() == (runs["cli"] / name).read_bytes(), name
    assert metrics_without_time(run.path / "metrics.csv") == \
        metrics_without_time(runs["cli"] / "metrics.csv")


def test_progress_and_warnings_go_to_stderr_as_on_the_command_line(tmp_path, capfd):
    config = config_with(train={"steps": 12}, data={"sin_dim": 3})
    condense.train(config, out=tmp_path / "run", report=False)
    err = capfd.readouterr().err
    line = toml_text(config).splitlines().index("sin_dim = 3") + 1
    assert f"condense: warning: <config dict>:{line}: data.sin_dim has no effect" in err
    assert "step 12/12" in err and "condense: done, run directory" in err
    condense.train(config, out=tmp_path / "quiet", report=False, quiet=True)
    assert capfd.readouterr().err == ""


def test_training_releases_the_gil(tmp_path):
    """Other Python threads run while condense trains."""
    finished = threading.Event()

    def train():
        condense.train(config_with(train={"steps": 60000}), out=tmp_path / "run", quiet=True,
                       report=False)
        finished.set()

    thread = threading.Thread(target=train)
    start = time.monotonic()
    ticks = [start]
    thread.start()
    while not finished.is_set() and time.monotonic() - start < 120:
        ticks.append(time.monotonic())
    thread.join()
    assert ticks[-1] - start > 0.5  # long enough to tell
    assert max(np.diff(ticks)) < 0.25


def test_metrics_and_analysis_hold_the_csv_values(runs):
    run = runs["python"]
    for table, name in ((run.metrics, "metrics.csv"), (run.analysis, "analysis.csv")):
        expected = np.genfromtxt(run.path / name, delimiter=",", names=True, dtype=None,
                                 encoding="utf-8", missing_values="", filling_values=np.nan)
        assert list(table.columns) == list(expected.dtype.names)
        assert len(table) == len(expected) > 0
        for column in expected.dtype.names:
            if expected[column].dtype.kind in "US":
                assert list(table[column]) == list(expected[column]), column
            else:
                np.testing.assert_array_equal(table[column].to_numpy(dtype=float),
                                              expected[column].astype(float), err_msg=column)
    # Empty fields are NaN: an FC layer of one neuron has no mean |cos|.
    assert run.analysis.query("layer == 'fc1'")["mean_abs_cos"].isna().all()
    assert run.metrics["step"].dtype == np.int64 and run.analysis["n_lines"].dtype == np.int64


def test_weights_cosines_and_prediction_are_the_files(runs):
    run = runs["python"]
    index = np.genfromtxt(run.path / "snapshots/index.csv", delimiter=",", names=True,
                          dtype=None, encoding="utf-8")
    assert run.steps == [int(s) for s in index["step"]]
    assert run.steps[0] == 0 and run.steps[-1] == 40
    assert run.layers == ["conv1", "fc1"]
    for step in (0, 13, 40):
        snapshot = run.snapshot(step)
        folder = run.path / "snapshots" / f"step_{step}"
        assert sorted(snapshot) == sorted(p.stem for p in folder.glob("*.npy"))
        for name, array in snapshot.items():
            expected = np.load(folder / f"{name}.npy")
            assert array.dtype == expected.dtype and array.shape == expected.shape
            np.testing.assert_array_equal(array, expected)
        np.testing.assert_array_equal(run.weights(step, "conv1"), snapshot["conv1.weight"])
    matrix, order = run.cosines(40, "conv1")
    np.testing.assert_array_equal(matrix, np.load(run.path / "cosines/step_40/conv1.npy"))
    np.testing.assert_array_equal(order, np.load(run.path / "cosines/step_40/conv1.order.npy"))
    assert matrix.shape == (4, 4) and sorted(order) == [0, 1, 2, 3]
    assert run.prediction == json.loads((run.path / "prediction.json").read_text())
    np.testing.assert_array_equal(run.v1, np.load(run.path / "v1.npy"))
    assert run.config == tomllib.loads((run.path / "config.toml").read_text())
    assert run.config["train"]["lr"] == 0.05
    assert run.summary == json.loads((run.path / "summary.json").read_text())


def test_tables_are_dicts_of_numpy_arrays_without_pandas(runs, monkeypatch):
    run = runs["python"]
    frames = run.metrics, run.analysis
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    tables = run.metrics, run.analysis
    for frame, table in zip(frames, tables):
        assert isinstance(table, dict)
        assert list(table) == list(frame.columns)
        for column, values in table.items():
            assert isinstance(values, np.ndarray), column
            np.testing.assert_array_equal(values, frame[column].to_numpy(), err_msg=column)
    assert tables[1]["layer"].dtype.kind == "U" and tables[1]["step"].dtype == np.int64


def test_overrides_apply_as_set_does(runs, run_condense, tmp_path):
    overrides = {"train.steps": 12, "model.activation": "relu",
                 "model.conv": [{"channels": 3, "kernel": 3, "padding": 1}]}
    run = condense.train(SMALL_CONFIG, out=tmp_path / "python", overrides=overrides,
                         quiet=True, report=False, threads=2)
    run_condense("train", runs["config_file"], "--quiet", "--no-report", "--out",
                 tmp_path / "cli", "--set", "train.steps=12", "--set", "model.activation=relu",
                 "--set", "model.conv=[{channels=3, kernel=3, padding=1}]", "--set", "threads=2")
    assert (run.path / "config.toml").read_bytes() == (tmp_path / "cli/config.toml").read_bytes()
    assert run.config["train"]["steps"] == 12 and run.config["threads"] == 2
    assert run.config["model"]["activation"] == "relu"
    assert run.weights(12, "conv1").shape == (3, 1, 3, 3)
    assert metrics_without_time(run.path / "metrics.csv") == \
        metrics_without_time(tmp_path / "cli/metrics.csv")


def cli_error(run_condense, *arguments):
    result = run_condense("train", *arguments, check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("condense: error: ")
    return result.stderr[len("condense: error: "):].rstrip("\n")


def test_a_run_gets_the_thread_count_of_its_own_config(run_condense, tmp_path):
    """threads = 0 is every core, also after a run with threads = 1 in the same process."""
    config = dict(config_with(train={"steps": 5}), threads=0)
    one = condense.train(config, out=tmp_path / "one", threads=1, quiet=True, report=False)
    every = condense.train(config, out=tmp_path / "every", quiet=True, report=False)
    run_condense("train", write_toml(tmp_path / "c.toml", config), "--quiet", "--no-report",
                 "--out", tmp_path / "cli")
    assert one.summary["machine"]["threads"] == 1
    assert every.summary["machine"]["threads"] == \
        condense.Run(tmp_path / "cli").summary["machine"]["threads"]


def test_a_bad_config_raises_value_error_with_the_command_lines_message(run_condense, tmp_path):
    bad = write_toml(tmp_path / "bad.toml", config_with(train={"lr": "fast", "lrate": 0.1}))
    expected = cli_error(run_condense, bad, "--out", tmp_path / "cli")
    assert 'train.lr must be a number, got "fast"' in expected
    assert "unknown key train.lrate (did you mean train.lr?)" in expected
    with pytest.raises(ValueError) as from_file:
        condense.train(bad, out=tmp_path / "file")
    assert str(from_file.value) == expected
    # A dict is named "<config dict>", with the lines of its TOML text.
    with pytest.raises(ValueError) as from_dict:
        condense.train(config_with(train={"lr": "fast", "lrate": 0.1}), out=tmp_path / "dict")
    assert str(from_dict.value) == expected.replace(str(bad), "<config dict>")
    # An override is named as --set names it.
    good = write_toml(tmp_path / "good.toml", SMALL_CONFIG)
    expected = cli_error(run_condense, good, "--out", tmp_path / "cli", "--set", "train.steps=0")
    with pytest.raises(ValueError) as from_override:
        condense.train(SMALL_CONFIG, out=tmp_path / "set", overrides={"train.steps": 0})
    assert str(from_override.value) == expected
    assert expected.startswith("--set train.steps=0: train.steps must be an integer ≥ 1")
    with pytest.raises(ValueError, match="unknown key train.stesp \\(did you mean train.steps"):
        condense.train(SMALL_CONFIG, out=tmp_path / "set", overrides={"train.stesp": 5})
    with pytest.raises(ValueError, match="threads must be an integer in \\[0, 1024\\], got 5000"):
        condense.train(SMALL_CONFIG, out=tmp_path / "set", threads=5000)
    assert not any((tmp_path / name).exists() for name in ("file", "dict", "set", "cli"))


def test_values_toml_cannot_hold_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"config\['train'\]\['lr'\] is None"):
        condense.train(config_with(train={"lr": None}), out=tmp_path / "unused")
    with pytest.raises(ValueError, match=r"config\['model'\]\['conv'\]\[0\]\['channels'\]: a "
                                         "value of type complex has no TOML form"):
        condense.train(config_with(model={"conv": [{"channels": 1j}]}), out=tmp_path / "unused")
    with pytest.raises(ValueError, match=r"overrides\['train.lr'\]: a value of type object"):
        condense.train(SMALL_CONFIG, out=tmp_path / "unused", overrides={"train.lr": object()})
    with pytest.raises(TypeError):
        condense.train(["not", "a", "config"], out=tmp_path / "unused")
    assert not (tmp_path / "unused").exists()


def test_the_toml_writer_round_trips_through_tomllib():
    config = {
        "seed": 7, "big": -(2**63), "flag": True, "off": np.bool_(False),
        "small": 1e-8, "tenth": 0.1, "huge": 1.5e300, "negative_zero": -0.0,
        "numpy": np.float64(0.25), "single": np.float32(0.1), "count": np.int64(3),
        "text": 'a "quoted" back\\slash\ttab\nnewline \x01 é ✓',
        "spaced key": 1, "dotted.key": 2, "": 3,
        "list": [1, 2.5, "x", [True, []]], "tuple": (1, 2), "array": np.array([0.5, 1.5]),
        "train": {"lr": 0.05, "betas": [0.9, 0.999]},
        "model": {"conv": [{"channels": 4, "kernel": 3}, {}]},
        "init": {"layers": {"fc1": {"scheme": "xavier-normal"}, "conv1": {}}},
        "empty": {},
    }
    expected = dict(config, off=False, numpy=0.25, single=float(np.float32(0.1)), count=3,
                    tuple=[1, 2], array=[0.5, 1.5])
    assert tomllib.loads(toml_text(config)) == expected
    nan = tomllib.loads(toml_text({"a": float("nan"), "b": float("-inf")}))
    assert np.isnan(nan["a"]) and nan["b"] == -np.inf
    with pytest.raises(ValueError, match="does not fit a 64-bit integer"):
        toml_text({"n": 2**63})
    with pytest.raises(ValueError, match=r"config\['t'\]: the key 1 is a int"):
        toml_text({"t": {1: 2}})


def test_a_diverging_run_returns_its_run_with_status_diverged(run_condense, tmp_path):
    diverging = config_with(train={"lr": 1e6})
    run = condense.train(diverging, out=tmp_path / "python", quiet=True, report=False)
    assert run.status == "diverged"
    assert run.summary["message"].startswith("training diverged at step")
    result = run_condense("train", write_toml(tmp_path / "d.toml", diverging), "--quiet",
                          "--no-report", "--out", tmp_path / "cli", check=False)
    assert result.returncode == 3
    assert condense.Run(tmp_path / "cli").summary["message"] == run.summary["message"]


# A Python program as run from a terminal: Ctrl-C raises KeyboardInterrupt, SIGTERM ends it
# (whatever dispositions the test runner was started with).
PROGRAM_START = """
import signal, sys, time, condense
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
config = {config!r}
"""

CHILD = PROGRAM_START + """
try:
    condense.train(config, out={out!r}, quiet=True, report=False)
except KeyboardInterrupt as stop:
    print("KeyboardInterrupt:", stop, flush=True)
    sys.exit(130)
print("returned", flush=True)
"""

# Trains a run, then waits in Python for Ctrl-C.
TRAIN_THEN_WAIT = PROGRAM_START + """
condense.train(config, out={out!r}, quiet=True, report=False)
try:
    print("trained", flush=True)
    time.sleep(60)
except KeyboardInterrupt:
    print("KeyboardInterrupt in Python", flush=True)
"""


def start_long_run(out):
    """A child Python training a run far too long to finish; returns once training has begun."""
    config = config_with(train={"steps": 10**7})
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(config=config, out=str(out))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "snapshots" / "index.csv").exists():  # the first checkpoint is written
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.05)
    time.sleep(0.3)  # some steps into training
    return child


def test_sigint_saves_the_checkpoint_then_raises_keyboard_interrupt(tmp_path):
    out = tmp_path / "run"
    child = start_long_run(out)
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=120)
    assert child.returncode == 130, stdout + stderr
    assert stdout.startswith("KeyboardInterrupt: stopped by SIGINT at step ")
    assert f"condense.train(None, out='{out}', resume=True)" in stdout
    run = condense.Run(out)
    assert run.status == "interrupted"
    assert (out / "checkpoint" / "state.bin").is_file()
    stopped = run.summary["steps"]
    assert 0 <= stopped < 10**7 and run.metrics["step"].iloc[-1] <= stopped
    # The run continues in process, and ends where an uninterrupted run ends, bit for bit.
    resumed = condense.train(None, out=out, resume=True, overrides={"train.steps": stopped + 5},
                             quiet=True, report=False)
    assert resumed.status == "completed" and resumed.steps[-1] == stopped + 5
    straight = condense.train(config_with(train={"steps": stopped + 5}), out=tmp_path / "straight",
                              quiet=True, report=False)
    for name, array in straight.snapshot(stopped + 5).items():
        np.testing.assert_array_equal(resumed.snapshot(stopped + 5)[name], array, err_msg=name)


def test_sigterm_saves_the_checkpoint_then_ends_the_process_as_sigterm_does(tmp_path):
    out = tmp_path / "run"
    child = start_long_run(out)
    child.send_signal(signal.SIGTERM)
    stdout, stderr = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGTERM, stdout + stderr
    assert condense.Run(out).status == "interrupted"
    assert "stopped by SIGTERM" in condense.Run(out).summary["message"]
    assert (out / "checkpoint" / "state.bin").is_file()


def test_pythons_own_sigint_handling_comes_back_after_training(tmp_path):
    program = TRAIN_THEN_WAIT.format(config=SMALL_CONFIG, out=str(tmp_path / "run"))
    child = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "trained\n"
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=60)
    assert stdout == "KeyboardInterrupt in Python\n", stderr
    assert condense.Run(tmp_path / "run").status == "completed"


@pytest.fixture
def copied_run(runs, tmp_path):
    destination = tmp_path / "run"
    shutil.copytree(runs["python"].path, destination)
    return condense.Run(destination)


def test_missing_and_damaged_files_are_named(copied_run, tmp_path):
    run = copied_run
    lines = (run.path / "metrics.csv").read_text().splitlines()
    lines[3] = lines[3].replace(",", ",x", 1)
    (run.path / "metrics.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=f"{run.path / 'metrics.csv'}:4"):
        run.metrics
    (run.path / "analysis.csv").unlink()
    with pytest.raises(OSError, match=str(run.path / "analysis.csv")):
        run.analysis
    (run.path / "summary.json").write_text('{"status": "finished"}')
    with pytest.raises(ValueError, match="summary.json.*\"finished\""):
        run.status
    weight = run.path / "snapshots/step_40/conv1.weight.npy"
    weight.write_bytes(weight.read_bytes()[:-8])
    with pytest.raises(ValueError, match=str(weight)):
        run.weights(40, "conv1")
    with pytest.raises(ValueError, match="no snapshot of step 41"):
        run.snapshot(41)
    with pytest.raises(ValueError, match="no layer 'conv2' at step 0.*conv1, fc1"):
        run.weights(0, "conv2")
    with pytest.raises(OSError, match="cosines/step_41/conv1.npy"):
        run.cosines(41, "conv1")
    (run.path / "config.toml").write_text("seed = = 1\n")
    with pytest.raises(ValueError, match="config.toml"):
        run.config
    (run.path / "prediction.json").write_text("{")
    with pytest.raises(ValueError, match="prediction.json"):
        run.prediction
    (run.path / "v1.npy").unlink()
    assert run.v1 is None
    (run.path / "summary.json").unlink()
    assert run.status is None
    with pytest.raises(FileNotFoundError, match="no such folder"):
        condense.Run(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a run directory"):
        condense.Run(tmp_path / "empty")


def test_analyze_and_report_do_what_the_commands_do(copied_run, runs, run_condense, tmp_path):
    run = copied_run
    original = (run.path / "analysis.csv").read_bytes()
    cli = tmp_path / "cli"
    shutil.copytree(run.path, cli)
    run_condense("analyze", cli, "--threshold", "0.5", "--quiet")
    table = run.analyze(threshold=0.5, quiet=True)
    assert (run.path / "analysis.csv").read_bytes() == (cli / "analysis.csv").read_bytes()
    assert (run.path / "analysis.csv").read_bytes() != original
    assert table["n_lines"].tolist() == run.analysis["n_lines"].tolist()
    run.analyze(quiet=True)  # the run's own settings: the file training wrote
    assert (run.path / "analysis.csv").read_bytes() == original
    shutil.rmtree(run.path / "figures")
    (run.path / "report.html").unlink()
    page = run.report(pdf=False, quiet=True)
    assert page == run.path / "report.html" and page.is_file()
    assert (run.path / "figures" / "training.png").is_file()
    assert not list((run.path / "figures").glob("*.pdf"))
    with pytest.raises(ValueError, match="a step is an integer ≥ 0"):
        run.report(steps=[-1])
