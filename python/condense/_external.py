"""What a run trained outside condense is made of, for its config.toml ([external]), and its
report: shared by the tracker (tracking.py) and the checkpoint import (checkpoints.py)."""

import json
import math
import numbers
import warnings

from . import _core
from ._arrays import is_tensor


def _setting(value):
    """An optimizer setting as config.toml holds it: a number, a boolean, a string or a list."""
    if is_tensor(value) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else str(value)  # JSON has no inf or nan
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        items = [_setting(v) for v in value]
        if all(not isinstance(v, (list, dict)) for v in items):
            return items
    return str(value)


def optimizer_description(optimizer):
    """The optimizer's class and the settings of each parameter group (lr, momentum, betas, ...),
    for config.toml; None settings are left out."""
    if optimizer is None:
        return None, []
    groups = []
    for group in getattr(optimizer, "param_groups", []):
        settings = {}
        for key, value in group.items():
            if key == "params" or value is None:
                continue
            settings[str(key)] = _setting(value)
        groups.append(settings)
    cls = type(optimizer)
    return f"{cls.__module__}.{cls.__qualname__}", groups


def external_description(*, trained_with, version, model_class, model, parameters,
                         optimizer=None, description=None):
    """The [external] table of config.toml, as JSON for the library."""
    optimizer_class, groups = optimizer_description(optimizer)
    return json.dumps({
        "trained_with": trained_with,
        "version": version,
        "model_class": model_class,
        "model": model,
        "parameters": [{"name": n, "shape": [int(d) for d in s]} for n, s in parameters],
        "optimizer_class": optimizer_class,
        "optimizer": groups,
        "description": description,
    }, allow_nan=False)


def make_report(run_dir):
    """Draws the figures and report.html of a run directory (condense report RUN); a warning
    when they could not all be drawn (gnuplot missing)."""
    try:
        complete = _core.report(str(run_dir), True)
    except (OSError, ValueError) as error:
        warnings.warn(f"no report for {run_dir}: {error}", RuntimeWarning, stacklevel=3)
        return
    if not complete:
        warnings.warn(f"the report of {run_dir} is incomplete; redraw it with: condense report "
                      f"{run_dir}", RuntimeWarning, stacklevel=3)
