#!/usr/bin/python3
"""Re-derives every number of a run directory from its snapshots, independently of condense.

    /usr/bin/python3 tests/rederive/check_run.py RUN [--expect-v1]

Reads RUN/config.toml, loads the data from the IDX files itself (rederive_data.py), builds the
model in PyTorch (rederive_model.py) and, in float64:

  - snapshots/index.csv lists exactly the snapshot steps of the config, and every step_<k>/
    holds exactly the model's parameters with their PyTorch shapes;
  - full-batch runs: training replayed in PyTorch from step_0 reaches every snapshot's weights,
    so step_<k> holds the weights after k optimizer steps;
  - metrics.csv has exactly the rows the config asks for, and in each row (step k) epoch and lr
    follow from the config, and train_loss, train_acc, test_loss and test_acc are those of the
    weights of step_<k> on the whole training and test split; time_s never decreases;
  - analysis.csv and cosines/ are the measures of docs/analysis.md recomputed with numpy
    (rederive_analysis.py) from the snapshots and RUN/v1.npy.

Every mismatch is printed with the file, the row, the column, the recorded and the recomputed
value; the exit code is 1 on any mismatch, 2 when the run cannot be checked, 0 otherwise.
Numbers agree when they differ by at most 1e-10 relative or, for a column printed with fewer
digits, by half a unit of its last printed digit (plus a few ulps); counts agree exactly.
"""

import argparse
import csv
import json
import math
import pathlib
import re
import sys
import tomllib

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from rederive_analysis import measure_layer  # noqa: E402
from rederive_data import UnsupportedRun, load_run_data  # noqa: E402
from rederive_model import (build_model, evaluate, learning_rate, load_weights,  # noqa: E402
                            replay)

RELATIVE = 1e-10
# Significant digits metrics.csv and analysis.csv print.
METRICS_DIGITS = {"epoch": 6, "lr": 10, "train_loss": 12, "train_acc": 10, "test_loss": 10,
                  "test_acc": 10}
ANALYSIS_DIGITS = 10
METRICS_HEADER = ["step", "epoch", "time_s", "lr", "train_loss", "train_acc", "test_loss",
                  "test_acc"]
ANALYSIS_HEADER = ["step", "layer", "mean_abs_cos", "n_orientations", "n_lines", "n_negligible",
                   "effective_rank", "norm", "rd", "align_v1", "align_v1_min"]
ANALYSIS_FLOATS = ["mean_abs_cos", "effective_rank", "norm", "rd", "align_v1", "align_v1_min"]
ANALYSIS_COUNTS = ["n_orientations", "n_lines", "n_negligible"]
# Replayed weights against the snapshots: ||replayed − saved|| / ||saved|| per tensor.
REPLAY_RELATIVE = 1e-10
PRINTED_FAILURES = 200


class Report:
    """Collects mismatches and the largest relative difference of every checked column."""

    def __init__(self):
        self.failures = []
        self.worst = {}
        self.compared = 0

    def fail(self, message):
        self.failures.append(message)

    def _track(self, column, difference):
        self.worst[column] = max(self.worst.get(column, 0.0), difference)

    def exact(self, where, column, recorded, expected):
        self.compared += 1
        if recorded != expected:
            self.fail(f"{where} {column}: recorded {recorded!r}, recomputed {expected!r}")

    def number(self, where, column, recorded_text, value, digits=17, relative=RELATIVE):
        """A recorded number (text, "" when empty) against the recomputed value (None: empty)."""
        self.compared += 1
        recorded_text = recorded_text.strip()
        if value is None or recorded_text == "":
            if value is not None or recorded_text != "":
                self.fail(f"{where} {column}: recorded {recorded_text or 'empty'!r}, recomputed "
                          f"{'empty' if value is None else repr(value)}")
            return
        try:
            recorded = float(recorded_text)
        except ValueError:
            self.fail(f"{where} {column}: recorded {recorded_text!r} is not a number")
            return
        magnitude = abs(value)
        half_unit = 0.0
        if magnitude > 0 and digits < 17:
            half_unit = 0.5 * 10.0 ** (math.floor(math.log10(magnitude)) - (digits - 1))
        allowed = max(relative * magnitude, half_unit) + 4 * math.ulp(magnitude)
        difference = abs(recorded - value)
        key = f"{re.sub(r'step_[0-9]+', 'step_*', where.split(' ')[0])} {column}"
        self._track(key, difference / magnitude if magnitude > 0 else difference)
        if not difference <= allowed:
            self.fail(f"{where} {column}: recorded {recorded_text}, recomputed {value!r} "
                      f"(relative difference {difference / max(magnitude, 1e-300):.3g}, "
                      f"allowed {allowed / max(magnitude, 1e-300):.3g})")


def read_csv(path, header, report):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != header:
        report.fail(f"{path.name}: header {rows[0] if rows else None}, expected {header}")
        return []
    parsed = []
    for number, fields in enumerate(rows[1:], start=2):
        if len(fields) != len(header):
            report.fail(f"{path.name} row {number}: {len(fields)} fields, expected {len(header)}")
        elif fields:
            parsed.append(dict(zip(header, fields)))
    return parsed


def schedule(config, train_count):
    """(total steps, batches per epoch, full batch, snapshot steps, metrics rows, evaluated
    steps) as docs/config.md and docs/run-directory.md define them."""
    train, track = config["train"], config["track"]
    batch = train["batch_size"]
    full_batch = batch <= 0 or batch >= train_count
    batches = 1 if full_batch else -(-train_count // batch)
    total = train["epochs"] * batches if train["epochs"] > 0 else train["steps"]
    snapshots = {0, total}
    kind = track["snapshots"]
    if kind == "log":
        j = 0
        while (s := math.floor(10.0 ** (j / track["per_decade"]) + 0.5)) <= total:
            snapshots.add(s)
            j += 1
    elif kind.startswith("every:"):
        snapshots.update(range(int(kind[6:]), total, int(kind[6:])))
    snapshots.update(s for s in track["extra_steps"] if s <= total)
    evaluated = {s for s in range(0, total + 1) if s % train["eval_every"] == 0} | {total}
    if track["evaluate_at_snapshots"]:
        evaluated |= snapshots
    rows = evaluated | snapshots if full_batch else evaluated
    return total, batches, full_batch, sorted(snapshots), sorted(rows), evaluated


def load_snapshot(run, step, parameters, report):
    folder = run / "snapshots" / f"step_{step}"
    present = sorted(p.stem for p in folder.glob("*.npy")) if folder.is_dir() else []
    if present != sorted(parameters):
        report.fail(f"snapshots/step_{step}: files {present}, expected {sorted(parameters)}")
        return None
    weights = {}
    for name, shape in parameters.items():
        value = np.load(folder / f"{name}.npy")
        if value.shape != shape or value.dtype != np.float64:
            report.fail(f"snapshots/step_{step}/{name}.npy: {value.dtype} {value.shape}, "
                        f"expected float64 {shape}")
            return None
        weights[name] = value
    return weights


def check_replay(net, config, data, total, snapshots, report):
    worst = [0.0]

    def compare(step, replayed):
        if step not in snapshots or snapshots[step] is None:
            return
        for name, value in snapshots[step].items():
            error = np.linalg.norm(replayed[name] - value) / max(np.linalg.norm(value), 1e-300)
            worst[0] = max(worst[0], error)
            if not error <= REPLAY_RELATIVE:
                report.fail(f"snapshots/step_{step}/{name}.npy: {error:.3g} relative from the "
                            f"weights after {step} steps replayed in PyTorch")

    replay(net, config["train"], data["train"], total, snapshots[0], compare)
    report.worst["snapshots (replayed)"] = worst[0]


def check_metrics(run, net, config, data, plan, snapshots, report):
    total, batches, _, _, expected_rows, evaluated = plan
    rows = read_csv(run / "metrics.csv", METRICS_HEADER, report)
    steps = [int(r["step"]) for r in rows]
    if steps != expected_rows:
        report.fail(f"metrics.csv: rows at steps {steps}, expected {expected_rows}")
    classes = config["data"]["target"] != "regression"
    n_train, n_test = len(data["train"]["inputs"]), len(data["test"]["inputs"])
    loss, previous_time = config["train"]["loss"], 0.0
    for number, row in enumerate(rows, start=2):
        step = int(row["step"])
        where = f"metrics.csv row {number} (step {step})"
        time = float(row["time_s"])
        if not time >= previous_time:
            report.fail(f"{where} time_s: {time} is before the previous row's {previous_time}")
        previous_time = time
        report.number(where, "epoch", row["epoch"], step / batches, METRICS_DIGITS["epoch"])
        report.number(where, "lr", row["lr"], learning_rate(config["train"], step, total),
                      METRICS_DIGITS["lr"])
        if snapshots.get(step) is None:
            report.fail(f"{where}: no snapshot of step {step} to recompute the row from")
            continue
        load_weights(net, snapshots[step])
        splits = [("train", data["train"], n_train, True),
                  ("test", data["test"], n_test, step in evaluated and n_test > 0)]
        for prefix, split, count, present in splits:
            value, correct = evaluate(net, loss, split) if present else (None, None)
            report.number(where, f"{prefix}_loss", row[f"{prefix}_loss"], value,
                          METRICS_DIGITS[f"{prefix}_loss"])
            accuracy = correct / count if present and classes else None
            report.number(where, f"{prefix}_acc", row[f"{prefix}_acc"], accuracy,
                          METRICS_DIGITS[f"{prefix}_acc"])


def predicted_direction(run, config, layer, has_bias):
    path = run / "v1.npy"
    if not path.exists():
        return None
    direction = np.load(path).astype(np.float64).ravel()
    if config["track"]["with_bias"] and has_bias:
        prediction = json.loads((run / "prediction.json").read_text())
        bias = prediction.get("direction", {}).get("v1_bias")
        if bias is None:
            return None
        direction = np.append(direction, bias)
    return direction


def check_cosines(run, step, layer, measures, clusters, report):
    folder = run / "cosines" / f"step_{step}"
    where = f"cosines/step_{step}/{layer}"
    cosines = np.load(folder / f"{layer}.npy")
    expected = measures["cosines"].astype(np.float32)
    if cosines.shape != expected.shape or cosines.dtype != np.float32:
        report.fail(f"{where}.npy: {cosines.dtype} {cosines.shape}, expected float32 "
                    f"{expected.shape}")
    else:
        # Both round a float64 cosine to float32: at most one float32 ulp apart.
        off = np.abs(cosines - expected) > np.spacing(np.abs(expected))
        report.compared += cosines.size
        if off.any():
            b, g = np.argwhere(off)[0]
            report.fail(f"{where}.npy: {off.sum()} of {off.size} entries differ, the first at "
                        f"[{b}, {g}]: recorded {cosines[b, g]!r}, recomputed "
                        f"{measures['cosines'][b, g]!r}")
    order = np.load(folder / f"{layer}.order.npy")
    report.exact(f"{where}.order.npy", "order", order.tolist(), measures["order"])
    entry = clusters.get(layer)
    if entry is None:
        report.fail(f"{folder.name}/clusters.json: no entry for {layer}")
        return
    where = f"cosines/step_{step}/clusters.json {layer}"
    for key in ["kernels", "kernel_size", "n_orientations", "n_lines", "n_negligible", "order",
                "orientation_of_kernel", "line_of_kernel", "orientation_sizes", "line_sizes"]:
        report.exact(where, key, entry.get(key), measures[key])
    for key in ANALYSIS_FLOATS:
        recorded = entry.get(key)
        report.number(where, key, "" if recorded is None else repr(recorded), measures[key])


def check_analysis(run, config, layers, plan, snapshots, report):
    snapshot_steps = plan[3]
    rows = read_csv(run / "analysis.csv", ANALYSIS_HEADER, report)
    expected_keys = [(s, layer) for s in snapshot_steps for layer in layers]
    keys = [(int(r["step"]), r["layer"]) for r in rows]
    if keys != expected_keys:
        report.fail(f"analysis.csv: rows {keys}, expected {expected_keys}")
    first_layer = layers[0]
    has_bias = {layer: f"{layer}.bias" in snapshots[0] for layer in layers}
    direction = predicted_direction(run, config, first_layer, has_bias[first_layer])
    save_cosines = config["track"]["save_cosines"]
    clusters_by_step = {}
    for number, row in enumerate(rows, start=2):
        step, layer = int(row["step"]), row["layer"]
        where = f"analysis.csv row {number} (step {step}, {layer})"
        weights = snapshots.get(step)
        if weights is None or layer not in layers:
            report.fail(f"{where}: no snapshot or layer to recompute the row from")
            continue
        bias = f"{layer}.bias"
        measures = measure_layer(weights[f"{layer}.weight"], weights.get(bias),
                                 snapshots[0][f"{layer}.weight"], snapshots[0].get(bias),
                                 config["track"], direction if layer == first_layer else None)
        for column in ANALYSIS_COUNTS:
            report.exact(where, column, row[column], str(measures[column]))
        for column in ANALYSIS_FLOATS:
            report.number(where, column, row[column], measures[column], ANALYSIS_DIGITS)
        if save_cosines:
            try:
                if step not in clusters_by_step:
                    path = run / "cosines" / f"step_{step}" / "clusters.json"
                    clusters_by_step[step] = json.loads(path.read_text())
                check_cosines(run, step, layer, measures, clusters_by_step[step], report)
            except (OSError, ValueError) as error:
                report.fail(f"cosines/step_{step}/{layer}: unreadable: {error}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=pathlib.Path)
    parser.add_argument("--expect-v1", action="store_true",
                        help="fail unless RUN/v1.npy exists (so the alignment columns are checked)")
    args = parser.parse_args()
    run = args.run
    torch.set_num_threads(1)
    report = Report()
    try:
        config = tomllib.loads((run / "config.toml").read_text())
        if config["dtype"] != "float64":
            raise UnsupportedRun(f"dtype = {config['dtype']!r}: the check compares float64 runs")
        data = load_run_data(config["data"])
        net = build_model(config, data)
    except (UnsupportedRun, OSError, KeyError, ValueError) as error:
        print(f"check_run: {run}: cannot check this run: {error}", file=sys.stderr)
        return 2
    if args.expect_v1 and not (run / "v1.npy").exists():
        report.fail(f"{run}/v1.npy does not exist: the alignment columns would go unchecked")
    parameters = {name: tuple(p.shape) for name, p in net.named_parameters()}
    layers = [name[: -len(".weight")] for name in parameters if name.endswith(".weight")]
    plan = schedule(config, len(data["train"]["inputs"]))
    total, _, full_batch, snapshot_steps, _, _ = plan

    index = read_csv(run / "snapshots" / "index.csv", ["step", "path"], report)
    listed = [(int(r["step"]), r["path"]) for r in index]
    if listed != [(s, f"step_{s}") for s in snapshot_steps]:
        report.fail(f"snapshots/index.csv: {listed}, expected the steps {snapshot_steps}")
    snapshots = {s: load_snapshot(run, s, parameters, report) for s in snapshot_steps}
    if snapshots[0] is None:
        report.fail("snapshots/step_0 is unreadable: nothing else can be checked")
    else:
        if full_batch:
            check_replay(net, config, data, total, snapshots, report)
        check_metrics(run, net, config, data, plan, snapshots, report)
        check_analysis(run, config, layers, plan, snapshots, report)

    print(f"{run}: {len(snapshot_steps)} snapshots, {len(layers)} layers, "
          f"{report.compared} values compared; largest relative differences:")
    for column, worst in sorted(report.worst.items()):
        print(f"  {column:32s} {worst:.3g}")
    if report.failures:
        for message in report.failures[:PRINTED_FAILURES]:
            print(f"MISMATCH {message}")
        if len(report.failures) > PRINTED_FAILURES:
            print(f"... and {len(report.failures) - PRINTED_FAILURES} more mismatches")
        print(f"{run}: FAILED, {len(report.failures)} mismatches")
        return 1
    print(f"{run}: every recorded number re-derived")
    return 0


if __name__ == "__main__":
    sys.exit(main())
