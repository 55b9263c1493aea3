"""condense's own trainer from Python, and any run directory opened as a `Run` (docs/python.md).

`train` runs the training of `condense train` in this process, through the same library function,
so the run directory is the one the command line writes. `Run` reads a run directory through the
library's readers: the numbers, the NaN of a value not measured and the errors for a damaged file
are those of the command line.
"""

import json
import os
import pathlib
import signal
import threading
import tomllib
from collections.abc import Mapping

import numpy as np

from . import _core
from ._toml import toml_text, value_text

# One training at a time in a process: the library's signal handlers are the process's.
_TRAINING = threading.Lock()

# The name of a config dict in the library's messages, with the line of its TOML text
# (condense.config_toml shows that text): "<config dict>:5: train.lr must be a number, got ...".
CONFIG_DICT_ORIGIN = "<config dict>"


def config_toml(config):
    """The TOML text `train` gives the library for a config dict (the lines its messages count)."""
    return toml_text(config)


def _assignments(overrides, threads):
    """The "key=value" assignments of `--set`, each value written as TOML."""
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, Mapping):
        raise TypeError("overrides is a dict of dotted keys and values, e.g. "
                        f"{{'train.steps': 200}}, not a {type(overrides).__name__}")
    assignments = []
    for key, value in overrides.items():
        if not isinstance(key, str):
            raise ValueError(f"overrides: the key {key!r} is a {type(key).__name__}, not a "
                             "dotted key such as 'train.steps'")
        assignments.append(f"{key}={value_text(value, (key,), 'overrides')}")
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
            raise ValueError(f"threads must be an integer (0 = every core), got {threads!r}")
        assignments.append(f"threads={int(threads)}")
    return assignments


def train(config, *, out, overrides=None, overwrite=False, resume=False, quiet=False,
          threads=None, report=True):
    """Trains a run as `condense train` does, in this process, and returns its `Run`.

    config: a dict shaped like the TOML file ({"model": {"conv": [...]}, "train": {"lr": 0.05}}),
        the path of a TOML file, or None with resume=True (the run's own config.toml).
    out: the run directory (with resume=True, the run to continue: `--resume RUN`).
    overrides: {"train.steps": 200, ...}, applied after the config as `--set` applies them.
    overwrite, resume, quiet, report: `--overwrite`, `--resume`, `--quiet`, and `--no-report`
        when report=False.
    threads: `--set threads=N` (0 = every core); None keeps the config's.

    The progress line goes to stderr. A bad config raises ValueError with the command line's
    message (file or "<config dict>" and line, key, value); a directory that cannot be written,
    OSError. A run that diverges returns its Run, status "diverged". Ctrl-C (SIGINT) stops the
    run at its next step with the checkpoint saved (status "interrupted"), then raises
    KeyboardInterrupt; SIGTERM is passed on to this process's own handler after the save.
    The training releases the GIL; a second call from another thread waits for the first.
    """
    out = os.fspath(out)
    assignments = _assignments(overrides, threads)
    config_path, config_text = "", None
    if isinstance(config, Mapping):
        config_text = config_toml(config)
    elif isinstance(config, (str, os.PathLike)):
        config_path = os.fspath(config)
        if not config_path:
            raise ValueError("config: an empty path; give a TOML file or a dict")
    elif config is not None:
        raise TypeError(f"config is a dict or the path of a TOML file, not a "
                        f"{type(config).__name__}")
    with _TRAINING:
        status, stop = _core.train(config_path, config_text, CONFIG_DICT_ORIGIN, assignments,
                                   out, bool(overwrite), bool(resume), bool(quiet), bool(report))
    run = Run(out)
    if stop:
        _pass_on_stop(stop, run, status)
    return run


def _pass_on_stop(number, run, status):
    """After the run is saved, the signal that stopped it goes where it would have gone: SIGINT
    to Python's KeyboardInterrupt (or the handler the program installed), SIGTERM to the
    process's handler (by default, the end of the process)."""
    if number == signal.SIGINT and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        if status == "interrupted":
            message = run.summary.get("message") or "stopped by SIGINT"
            raise KeyboardInterrupt(f"{message}; continue with condense.train(None, "
                                    f"out={str(run.path)!r}, resume=True)")
        raise KeyboardInterrupt(f"SIGINT after the run {run.path} ended ({status})")
    signal.raise_signal(number)


def _pandas():
    """pandas when it imports, else None (tables are then dicts of numpy arrays)."""
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def _table(columns):
    pandas = _pandas()
    if pandas is not None:
        return pandas.DataFrame(columns)
    return {name: np.array(values, dtype=str) if isinstance(values, list) else values
            for name, values in columns.items()}


class Run:
    """A run directory: one written by `condense train` or `condense.train`, a run of an
    experiment or a sweep, or one written by a tracker in Python (docs/run-directory.md).

    Every attribute reads its file when asked, so a run still training shows its latest rows.
    A missing file raises OSError (FileNotFoundError) naming it, a damaged one ValueError naming
    the file (and the line, for tables).
    """

    def __init__(self, path):
        self.path = pathlib.Path(path)
        if not self.path.is_dir():
            raise FileNotFoundError(f"{self.path}: not a run directory (no such folder)")
        files = ("config.toml", "metrics.csv", "analysis.csv", "summary.json", ".condense-run")
        if not any((self.path / name).exists() for name in files):
            raise ValueError(f"{self.path}: not a run directory (none of config.toml, "
                             "metrics.csv, analysis.csv, summary.json is there)")

    def __repr__(self):
        return f"Run({str(self.path)!r}, status={self.status!r})"

    def _file(self, name):
        return str(self.path / name)

    # How the run ended ------------------------------------------------------------------------

    @property
    def status(self):
        """"completed", "interrupted" or "diverged" (summary.json), or None when the run has no
        summary.json: it is still training, or was killed before it could write one."""
        if not (self.path / "summary.json").exists():
            return None
        return _core.read_summary(self._file("summary.json"))[0]

    @property
    def summary(self):
        """summary.json as a dict (status, message, steps, times, versions, final metrics)."""
        return _core.read_summary(self._file("summary.json"))[1]

    @property
    def config(self):
        """config.toml, every key resolved, as a dict (tomllib)."""
        path = self.path / "config.toml"
        text = path.read_text(encoding="utf-8")
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: {error}") from None

    # Tables ---------------------------------------------------------------------------------

    @property
    def metrics(self):
        """metrics.csv: a pandas DataFrame (a dict of numpy arrays without pandas) with step,
        epoch, time_s, lr, train_loss, train_acc, test_loss, test_acc; NaN where not measured."""
        return _table(_core.read_metrics(self._file("metrics.csv")))

    @property
    def analysis(self):
        """analysis.csv: a DataFrame (or dict of arrays) with step, layer and the condensation
        measures of every layer at every snapshot (docs/analysis.md); NaN where undefined."""
        return _table(_core.read_analysis(self._file("analysis.csv")))

    # Weights --------------------------------------------------------------------------------

    @property
    def steps(self):
        """The snapshot steps (snapshots/index.csv), increasing."""
        return list(_core.read_snapshot_steps(str(self.path)))

    def _snapshot_folder(self, step):
        step = _step(step)
        folder = self.path / "snapshots" / f"step_{step}"
        if not folder.is_dir():
            raise ValueError(f"{self.path} has no snapshot of step {step} ({folder}); its "
                             f"snapshot steps: {_listed(self.steps)}")
        return folder

    def snapshot(self, step):
        """Every parameter after `step` optimizer steps: name ("conv1.weight") -> numpy array, in
        the run's dtype, with PyTorch's shapes."""
        return dict(_core.read_snapshot(str(self._snapshot_folder(step))))

    def weights(self, step, layer):
        """The weight of `layer` ("conv1", "fc1") after `step` steps, as a numpy array."""
        path = self._snapshot_folder(step) / f"{layer}.weight.npy"
        if not path.exists():
            names = sorted(p.name[:-len(".weight.npy")] for p in path.parent.glob("*.weight.npy"))
            raise ValueError(f"{self.path} has no layer {layer!r} at step {step} ({path}); its "
                             f"layers: {', '.join(names) or 'none'}")
        return _core.read_npy(str(path))

    @property
    def layers(self):
        """The conv and FC layers, in network order: those of analysis.csv, else those with a
        weight in the first snapshot."""
        if (self.path / "analysis.csv").exists():
            names = []
            for layer in _core.read_analysis(self._file("analysis.csv"))["layer"]:
                if layer not in names:
                    names.append(layer)
            return names
        steps = self.steps
        if not steps:
            return []
        names = [name for name, _ in _core.read_snapshot(str(self._snapshot_folder(steps[0])))]
        return [name[:-len(".weight")] for name in names if name.endswith(".weight")]

    def cosines(self, step, layer):
        """(cosine matrix (M, M) of the kernels of `layer` at `step`, in their own order; the
        cluster-sorted order, int64) from cosines/step_<step>/. The heatmap shows
        matrix[np.ix_(order, order)]."""
        return _core.read_cosines(str(self.path), _step(step), str(layer))

    # The theory's prediction ----------------------------------------------------------------

    @property
    def prediction(self):
        """prediction.json as a dict (singular values, time scales, v1), or None when the theory
        does not cover the model and the run has none."""
        path = self.path / "prediction.json"
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: not JSON: {error}") from None

    @property
    def v1(self):
        """v1.npy, the predicted condensation direction shaped like one kernel, or None."""
        path = self.path / "v1.npy"
        return _core.read_npy(str(path)) if path.exists() else None

    # Commands on the run --------------------------------------------------------------------

    def report(self, *, steps=None, log_x=False, pdf=True, quiet=False):
        """Draws figures/ and writes report.html, as `condense report RUN` does (`steps`: the
        heatmap steps, `log_x`, `pdf=False` for `--no-pdf`). Returns the path of report.html.
        Raises OSError when figures could not be drawn (gnuplot missing); the page is written."""
        chosen = [] if steps is None else [_step(s) for s in steps]
        if not _core.report(str(self.path), chosen, bool(log_x), bool(pdf), bool(quiet)):
            raise OSError(f"the report of {self.path} is incomplete: figures could not be drawn "
                          "(the reason is printed above); report.html was written without them")
        return self.path / "report.html"

    def analyze(self, *, threshold=None, negligible=None, with_bias=False, quiet=False):
        """Measures every snapshot again and rewrites analysis.csv and cosines/, as `condense
        analyze RUN` does: with the run's own track settings unless `threshold`, `negligible` or
        `with_bias` are given. Returns the new analysis table."""
        _core.analyze(str(self.path), threshold, negligible, bool(with_bias), bool(quiet))
        return self.analysis


def _step(step):
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
        raise ValueError(f"a step is an integer ≥ 0, got {step!r}")
    return int(step)


def _listed(steps, most=12):
    if len(steps) <= most:
        return ", ".join(map(str, steps)) or "none"
    half = most // 2
    return ", ".join(map(str, steps[:half])) + ", ..., " + ", ".join(map(str, steps[-half:]))
