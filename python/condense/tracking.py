"""Tracking a PyTorch training into a condense run directory (docs/python.md): the snapshots,
metrics, condensation measures and cosine matrices `condense train` writes, for a model and a
training loop of your own. `condense report`, `condense analyze` and `condense compare` read the
directory like any other run."""

import math
import numbers
import pathlib
import time
import warnings

import numpy as np

from . import _core
from ._arrays import is_tensor
from ._external import external_description, make_report
from ._module_theory import module_prediction
from .theory import write_prediction

# The columns of metrics.csv that condense writes itself (docs/run-directory.md).
_KNOWN_COLUMNS = ("step", "epoch", "time_s", "lr", "train_loss", "train_acc", "test_loss",
                  "test_acc")
# Seconds between rewrites of metrics.csv and snapshots/index.csv during training, as the
# trainer's checkpoints (close() always writes them).
_TABLE_INTERVAL = 30.0


def _torch():
    import torch

    return torch


def tracked_parameters(module):
    """(name, parameter) of every Conv2d and Linear weight and bias of `module`, in the module's
    order, and the names of its other parameters (BatchNorm, embeddings, ...), which are not
    tracked. Names are the module's own (`layer1.0.conv1.weight`)."""
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(module).__name__}")
    if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
        raise ValueError(
            f"the module is itself a {type(module).__name__}, so its parameters have no layer "
            "name; wrap it: torch.nn.Sequential(module)")
    tracked, seen = [], set()
    for prefix, sub in module.named_modules():
        if not isinstance(sub, (torch.nn.Conv2d, torch.nn.Linear)):
            continue
        for kind in ("weight", "bias"):
            parameter = getattr(sub, kind, None)
            if parameter is None:
                continue
            name = f"{prefix}.{kind}"
            if isinstance(parameter, torch.nn.parameter.UninitializedParameter):
                raise ValueError(f"{name} is not initialized yet (a lazy module): run one forward "
                                 "pass before tracking")
            if parameter.is_complex() or not parameter.is_floating_point():
                raise ValueError(f"{name} is a {parameter.dtype} tensor; condense tracks real "
                                 "floating-point weights")
            tracked.append((name, parameter))
            seen.add(id(parameter))
    others = [name for name, p in module.named_parameters() if id(p) not in seen]
    if not any(name.endswith(".weight") for name, _ in tracked):
        raise ValueError(f"{type(module).__name__} has no Conv2d or Linear layer: nothing to track "
                         f"(its parameters: {', '.join(others) or 'none'})")
    return tracked, others


def _number(value, name):
    """A metric as a float (NaN for None): Python and numpy numbers, one-element arrays and
    tensors."""
    if value is None:
        return math.nan
    if is_tensor(value) or isinstance(value, np.ndarray):
        if value.size != 1 if isinstance(value, np.ndarray) else value.numel() != 1:
            raise ValueError(f"{name}: a {type(value).__name__} of shape {tuple(value.shape)}; "
                             "expected one number")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: {value!r} is not a number")
    return float(value)


def check_schedule(schedule, every, per_decade, steps):
    """The track.snapshots schedule of these arguments ("log", "every:K", "none"), checked."""
    if every is not None:
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"every must be an integer ≥ 1, got {every!r}")
        if schedule not in ("log", "every", f"every:{every}"):
            raise ValueError(f"every={every} saves every {every}-th step; it does not go with "
                             f"schedule={schedule!r}")
        schedule = f"every:{int(every)}"
    if schedule == "every":
        raise ValueError('schedule="every" needs every=K (save every K-th step)')
    if not isinstance(schedule, str):
        raise ValueError(f'schedule must be "log", "every:K" or "none", got {schedule!r}')
    if isinstance(per_decade, bool) or not isinstance(per_decade, numbers.Integral) or \
            not 1 <= per_decade <= 1000:
        raise ValueError(f"per_decade must be an integer in [1, 1000], got {per_decade!r}")
    extra = []
    for s in steps or ():
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"steps must be integers ≥ 0, got {s!r}")
        extra.append(int(s))
    # The library checks the schedule's text (every:K with K ≥ 1) with the same message.
    _core.snapshot_steps(schedule, int(per_decade), extra, 0)
    return schedule, sorted(set(extra))


class _Schedule:
    """Whether a step is a snapshot step, by the rule of the library's snapshot_steps (those of
    condense train): multiples of K for "every:K"; for "log", the library's steps up to
    total_steps when it is known, else over a horizon that grows as training goes on (the steps
    below a horizon do not depend on it); the first and the last step, and `extra`."""

    def __init__(self, schedule, per_decade, extra, total):
        self.every = int(schedule[6:]) if schedule.startswith("every:") else None
        self.args = (schedule, per_decade, extra)
        self.extra = set(extra)
        self.total = total
        self.horizon = total if total is not None else 1000
        self.steps = set() if self.every else set(_core.snapshot_steps(*self.args, self.horizon))

    def __contains__(self, step):
        if step == 0 or step == self.total or step in self.extra:
            return True
        if self.every is not None:
            return step % self.every == 0
        if self.total is None:
            while step >= self.horizon:
                self.horizon *= 10
                self.steps = set(_core.snapshot_steps(*self.args, self.horizon))
            return step in self.steps and step < self.horizon
        return step in self.steps


class Tracker:
    """Records a PyTorch training into the run directory `out`, as `condense train` records its
    own (docs/python.md):

        tracker = condense.Tracker(model, "runs/mine", total_steps=500, optimizer=opt)
        for step in range(500):
            loss = loss_fn(model(x), y)
            tracker.step(step, loss=loss.item())    # the weights after `step` optimizer steps
            opt.zero_grad(); loss.backward(); opt.step()
        tracker.close()                            # the final weights, summary.json, the report

    The weights of every Conv2d and Linear layer (weight and bias; BatchNorm and others are not
    tracked) are saved at the snapshot steps, the step-0 weights when the tracker is made, and
    measured there (analysis.csv, cosines/). Snapshot steps follow `schedule`: "log" (every step at
    first, then about `per_decade` per decade, the schedule of condense train), "every:K" (or
    every=K), or "none" (the first and the last step), plus `steps`. Weights on a GPU are copied to
    the host at snapshot steps only.

    threshold, negligible and with_bias are the measures' settings (docs/analysis.md).
    `optimizer` is hooked (hook()): its steps are counted, so that every snapshot holds the
    weights after exactly its number of steps; its learning rate goes to metrics.csv and its
    settings to config.toml. `description` is free text about the run, the data above all (it
    is summary.json's "data" and config.toml's external.description). `overwrite` replaces a run
    directory condense made. As a context manager the tracker closes itself: an exception marks
    the run "failed" (KeyboardInterrupt: "interrupted") with its message.

    `data` = (inputs, targets), the training data (numpy or torch, as condense.predict takes
    them), with `activation` and `loss`, makes the theory's prediction for the module's first
    Conv2d (without one, its first Linear) before training: prediction.json and v1.npy, and
    align_v1 measured for that layer at every snapshot. The module gives the layer's geometry and
    biases, the initial weights epsilon, the optimizer the time scales in steps; `theory` (a dict
    of condense.predict's keywords: target, positive_classes, batch_size, ...) sets the rest. For
    the two-layer network of the theory (that layer, then a Linear reading its flattened maps,
    and nothing else) it is the theory's prediction, with predicted_alignment.csv when
    total_steps is given; for any other network it is the two-layer prediction for its first
    layer, which prediction.json ("scope") and the report label as a measurement against it.
    `tracker.prediction` is the Prediction."""

    def __init__(self, module, out, *, schedule="log", total_steps=None, per_decade=20,
                 every=None, steps=None, threshold=None, negligible=None, with_bias=False,
                 optimizer=None, description=None, overwrite=False, save_cosines=True,
                 data=None, activation=None, loss=None, theory=None):
        torch = _torch()
        started = time.perf_counter()
        self._module = module
        self._tracked, self.untracked = tracked_parameters(module)
        if total_steps is not None and (isinstance(total_steps, bool) or
                                        not isinstance(total_steps, numbers.Integral) or
                                        total_steps < 0):
            raise ValueError(f"total_steps must be an integer ≥ 0, got {total_steps!r}")
        if description is not None and not isinstance(description, str):
            raise ValueError(f"description must be a string, got {type(description).__name__}")
        schedule, extra = check_schedule(schedule, every, per_decade, steps)
        self.total_steps = None if total_steps is None else int(total_steps)
        self._schedule = _Schedule(schedule, int(per_decade), extra, self.total_steps)
        self._optimizer = optimizer
        self._description = description
        # The prediction is made before anything is written: refused data leave no run directory.
        self.prediction, theory_made = None, None
        if data is not None:
            with torch.no_grad():
                theory_made = module_prediction(
                    module, self._tracked, self.untracked, data, activation=activation, loss=loss,
                    optimizer=optimizer, description=description, theory_options=theory)
            self.prediction = theory_made[0]
        elif activation is not None or loss is not None or theory is not None:
            raise ValueError("activation=, loss= and theory= describe the prediction made from "
                             "data=; give the training data too")
        self._run = _core.ExternalRun(
            str(out), self._external(), schedule, int(per_decade), extra, threshold,
            negligible, bool(with_bias), bool(save_cosines), bool(overwrite), "overwrite=True",
            True)
        self.run_dir = pathlib.Path(out)
        self._rows = []  # [step, epoch, lr, time_s, {column: value}]
        self._extra_columns = []
        self._count = 0  # optimizer steps counted by the hook
        self._hook = None
        self._last_snapshot = None
        self._warned = set()
        self._closed = False
        self._start = started
        self._last_tables = -math.inf
        self._dtype = str(self._tracked[0][1].dtype).replace("torch.", "")
        self.seconds = 0.0  # time spent by the tracker in the training loop
        if theory_made is not None:
            self._write_prediction(*theory_made)
        with torch.no_grad():
            self._snapshot(0)
        self._hooked = None
        if optimizer is not None:
            self.hook(optimizer)
        self.seconds += time.perf_counter() - started

    def _write_prediction(self, prediction, first, network, readout):
        """prediction.json and v1.npy (and predicted_alignment.csv for the theory's own network)
        before the step-0 snapshot, which reads them."""
        if network is None and self.total_steps is not None:
            with _torch().no_grad():
                initial = {name: p.detach().to("cpu") for name, p in self._tracked}
            write_prediction(self.run_dir, prediction, initial=initial,
                             total_steps=self.total_steps, first_layer=first,
                             readout_layer=readout)
        else:
            write_prediction(self.run_dir, prediction, first_layer=first, network=network)

    # What the run is made of, for config.toml.
    def _external(self):
        torch = _torch()
        cls = type(self._module)
        return external_description(
            trained_with="pytorch", version=torch.__version__,
            model_class=f"{cls.__module__}.{cls.__qualname__}", model=repr(self._module),
            parameters=[(n, tuple(p.shape)) for n, p in self._module.named_parameters()],
            optimizer=self._optimizer, description=self._description)

    @property
    def note(self):
        """The latest measures of the first layer: "conv1 |cos| 0.93 lines 2"."""
        return self._run.note

    @property
    def last_step(self):
        """The largest step seen: given to step(), counted by the hook, or snapshotted."""
        steps = [self._count, self._last_snapshot or 0]
        if self._rows:
            steps.append(self._rows[-1][0])
        return max(steps)

    def _snapshot(self, step):
        torch = _torch()
        tensors = []
        with torch.no_grad():
            host = [(name, p.detach().to("cpu")) for name, p in self._tracked]
        for name, tensor in host:
            float32 = tensor.dtype != torch.float64
            if tensor.dtype not in (torch.float32, torch.float64):
                tensor = tensor.to(torch.float32)  # float16, bfloat16: exactly
            tensors.append((name, tensor.numpy(), float32))
        unmeasurable = self._run.snapshot(int(step), tensors)
        for why in unmeasurable:
            layer = why.split(":", 1)[0]
            if layer not in self._warned:
                self._warned.add(layer)
                warnings.warn(f"{self.run_dir}: step {step}: {why}; the layer is not measured "
                              "while they are", RuntimeWarning, stacklevel=3)
        self._last_snapshot = int(step)
        now = time.perf_counter()
        if now - self._last_tables >= _TABLE_INTERVAL:
            self._write_tables()
            self._last_tables = now

    def _write_tables(self):
        rows = []
        for step, epoch, lr, time_s, values in self._rows:
            extra = [values.get(column) for column in self._extra_columns]
            rows.append((step, epoch, time_s, lr, values.get("train_loss"),
                         values.get("train_acc"), values.get("test_loss"),
                         values.get("test_acc"), extra))
        self._run.write_tables(rows, self._extra_columns)

    def _check_open(self):
        if self._closed:
            raise ValueError(f"the tracker of {self.run_dir} is closed")

    def _check_step(self, step, what):
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise ValueError(f"{what}: the step must be an integer ≥ 0, got {step!r}")
        if self.total_steps is not None and step > self.total_steps:
            raise ValueError(f"{what}: step {step} is beyond total_steps={self.total_steps}")
        return int(step)

    def step(self, step=None, *, loss=None, accuracy=None, test_loss=None, test_accuracy=None,
             epoch=None, lr=None, **extra):
        """Records the metrics of the weights after `step` optimizer steps (the loss of the forward
        pass before the optimizer's next step) and, at a snapshot step, saves and measures those
        weights. Without hook(), the module must hold the weights of `step` when it is a snapshot
        step. With hook(), snapshots are taken by the hook, `step` defaults to its count and may
        not exceed it. Steps must not decrease; a step given again adds to its row. `lr` defaults
        to the optimizer's; other keywords (`grad_norm=...`) become extra columns of metrics.csv.
        Values: numbers or one-element tensors; None is not recorded."""
        self._check_open()
        started = time.perf_counter()
        if step is None:
            if self._hook is None:
                raise ValueError("step() needs the step, unless hook(optimizer) counts them")
            step = self._count
        step = self._check_step(step, "step()")
        if self._hook is not None and step > self._count:
            raise ValueError(f"step({step}): the optimizer has made {self._count} steps; the "
                             "metrics of a step belong to the weights after that many steps")
        if self._rows and step < self._rows[-1][0]:
            raise ValueError(f"step({step}) comes after step({self._rows[-1][0]}): steps must not "
                             "decrease")
        values = {"train_loss": loss, "train_acc": accuracy, "test_loss": test_loss,
                  "test_acc": test_accuracy}
        for name in extra:
            if name in _KNOWN_COLUMNS:
                keyword = {"train_loss": "loss", "train_acc": "accuracy",
                           "test_acc": "test_accuracy"}.get(name, name)
                raise ValueError(f"step(): {name} is a column of its own; give it as "
                                 f"{keyword}=...")
            if not name or any(c in name for c in ',"\r\n'):
                raise ValueError(f"step(): {name!r} cannot name a column of metrics.csv")
        values.update(extra)
        numbers_given = {k: _number(v, k) for k, v in values.items() if v is not None}
        if lr is None and self._optimizer is not None:
            groups = getattr(self._optimizer, "param_groups", None)
            if groups:
                lr = groups[0].get("lr")
        lr = _number(lr, "lr")
        epoch = _number(epoch, "epoch")
        for name in extra:
            if name not in self._extra_columns:
                self._extra_columns.append(name)
        if self._rows and self._rows[-1][0] == step:
            row = self._rows[-1]
            row[1] = epoch if not math.isnan(epoch) else row[1]
            row[2] = lr if not math.isnan(lr) else row[2]
            row[4].update(numbers_given)
        else:
            self._rows.append([step, epoch, lr, time.perf_counter() - self._start,
                               numbers_given])
        if self._hook is None and step in self._schedule and \
                (self._last_snapshot is None or step > self._last_snapshot):
            self._snapshot(step)
        self.seconds += time.perf_counter() - started

    def hook(self, optimizer):
        """Counts the optimizer's steps (a step post-hook) and saves and measures the weights after
        every snapshot step, whatever the loop gives to step(). Returns a handle whose remove()
        unhooks it. The optimizer's learning rate goes to metrics.csv, its settings to
        config.toml."""
        self._check_open()
        if self._hook is not None:
            if optimizer is self._hooked:
                return self._hook
            raise ValueError("the tracker already counts the steps of another optimizer")
        if not callable(getattr(optimizer, "step", None)):
            raise TypeError(f"expected a torch.optim.Optimizer, got {type(optimizer).__name__}")
        self._count = self.last_step
        if self._optimizer is None:
            self._optimizer = optimizer
            self._run.describe(self._external())
        self._hooked = optimizer

        def after_step(*_):
            started = time.perf_counter()
            count = self._count + 1
            if self.total_steps is not None and count > self.total_steps:
                raise ValueError(f"optimizer step {count} is beyond total_steps="
                                 f"{self.total_steps}")
            self._count = count
            if count in self._schedule and (self._last_snapshot is None or
                                            count > self._last_snapshot):
                self._snapshot(count)
            self.seconds += time.perf_counter() - started

        if hasattr(optimizer, "register_step_post_hook"):
            self._hook = optimizer.register_step_post_hook(after_step)
        else:  # PyTorch before 2.0: wrap this optimizer's step
            self._hook = _StepWrapper(optimizer, after_step)
        return self._hook

    def close(self, status="completed", message="", *, step=None, report=True):
        """Saves the final weights (at `step`, by default the hook's count or the last step given;
        the module must hold them), writes metrics.csv, snapshots/index.csv and summary.json with
        `status` ("completed", "interrupted", "diverged" or "failed") and `message`, and draws the
        figures and report.html (needs gnuplot; `report=False` skips it, `condense report RUN`
        draws it later). Closing twice does nothing."""
        if self._closed:
            return
        if status not in ("completed", "interrupted", "diverged", "failed"):
            raise ValueError(f'status must be "completed", "interrupted", "diverged" or '
                             f'"failed", got {status!r}')
        final = self.last_step if step is None else self._check_step(step, "close()")
        if step is None and self._hook is None and status == "completed" and \
                self.total_steps is not None and final < self.total_steps:
            warnings.warn(
                f"{self.run_dir}: the last step given to step() is {final} and total_steps is "
                f"{self.total_steps}; the final weights are saved as step {final}. If the module "
                f"holds the weights after {self.total_steps} steps, close(step="
                f"{self.total_steps}) says so (or give the optimizer: its steps are counted)",
                RuntimeWarning, stacklevel=2)
        if final < self._last_snapshot:
            raise ValueError(f"close(step={final}): the weights of step {self._last_snapshot} "
                             "are saved already")
        self._closed = True
        if self._hook is not None:
            self._hook.remove()
        if final > self._last_snapshot:
            self._snapshot(final)
        self._write_tables()
        last = self._rows[-1] if self._rows else None
        final_metrics = (last[0], *(last[4].get(k, math.nan) for k in
                                    ("train_loss", "train_acc", "test_loss", "test_acc"))) \
            if last else ()
        elapsed = time.perf_counter() - self._start
        self._run.finish(status, str(message), final, self.total_steps, elapsed, elapsed,
                         sum(p.numel() for p in self._module.parameters()),
                         self._description or "", self._dtype, repr(self._module),
                         final_metrics)
        if report:
            make_report(self.run_dir)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if self._closed:
            return False
        if kind is None:
            self.close()
        elif issubclass(kind, KeyboardInterrupt):
            self.close("interrupted", f"stopped by KeyboardInterrupt at step {self.last_step}")
        else:
            self.close("failed", f"{kind.__name__}: {error}".strip())
        return False


class _StepWrapper:
    """A step post-hook for optimizers without register_step_post_hook (PyTorch < 2.0): the
    optimizer's own step, then the hook; remove() restores it."""

    def __init__(self, optimizer, hook):
        self.optimizer = optimizer
        original = optimizer.step

        def step(*args, **kwargs):
            result = original(*args, **kwargs)
            hook(optimizer, args, kwargs)
            return result

        optimizer.step = step

    def remove(self):
        if "step" in vars(self.optimizer):
            del self.optimizer.step
