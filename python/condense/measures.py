"""Condensation measures of weights, in process: the numbers `condense analyze` writes."""

from dataclasses import dataclass, field

import numpy as np

from . import _core
from ._arrays import float_array, is_tensor


@dataclass
class LayerMeasures:
    """The measures of one layer (docs/analysis.md). NaN where a measure is not defined."""

    layer: str
    shape: tuple
    mean_abs_cos: float
    n_orientations: int
    n_lines: int
    n_negligible: int
    effective_rank: float
    norm: float
    rd: float  # relative distance from the initial weights (NaN without them)
    align: float  # mean |cos(W_beta, v)| with the direction (NaN without one)
    align_min: float
    cosines: np.ndarray  # (M, M), kernels in their own order
    order: np.ndarray  # the clusters' order of the kernels (docs/analysis.md)
    orientation: np.ndarray  # (M) orientation cluster of each kernel, -1 negligible
    line: np.ndarray  # (M) line cluster of each kernel, -1 negligible
    norms: np.ndarray  # (M) |W_beta|
    record: dict = field(repr=False)  # as clusters.json writes it

    @property
    def ordered_cosines(self):
        """The cosine matrix with rows and columns in cluster order, as the heatmaps show it."""
        return self.cosines[np.ix_(self.order, self.order)]


def _number(value):
    return float("nan") if value is None else float(value)


def _layer(result):
    record = result["measures"]
    return LayerMeasures(
        layer=result["layer"],
        shape=tuple(result["shape"]),
        mean_abs_cos=_number(record.get("mean_abs_cos")),
        n_orientations=int(record["n_orientations"]),
        n_lines=int(record["n_lines"]),
        n_negligible=int(record["n_negligible"]),
        effective_rank=_number(record.get("effective_rank")),
        norm=_number(record.get("norm")),
        rd=_number(record.get("rd")),
        align=_number(record.get("align_v1")),
        align_min=_number(record.get("align_v1_min")),
        cosines=result["cosines"],
        order=result["order"],
        orientation=np.asarray(result["orientation"], dtype=np.int64),
        line=np.asarray(result["line"], dtype=np.int64),
        norms=np.asarray(result["norms"], dtype=np.float64),
        record=record,
    )


def _named_tensors(weights, name):
    """(name, float array) pairs of a state_dict-like mapping, or of one tensor named `name`."""
    if isinstance(weights, dict) or hasattr(weights, "items") and not is_tensor(weights):
        pairs = []
        for key, value in weights.items():
            pairs.append((str(key), value))
        return pairs
    return [(name + ".weight", weights)]


def _measure(weights, *, initial, direction, direction_bias, direction_layer, threshold,
             negligible, with_bias, skip_unsupported, origin, name):
    def arrays(pairs):
        converted = []
        for key, value in pairs:
            if not hasattr(value, "shape") and not isinstance(value, (list, tuple)):
                if skip_unsupported:
                    continue
                raise ValueError(f"{origin}: {key} is a {type(value).__name__}, not an array")
            converted.append((key, float_array(value, key)))
        return converted

    tensors = arrays(_named_tensors(weights, name))
    initial_tensors = None if initial is None else arrays(_named_tensors(initial, name))
    v = None if direction is None else float_array(direction, "direction").reshape(-1)
    return _core.measure(tensors, initial_tensors, v, direction_bias, direction_layer or "",
                         threshold, negligible, with_bias, skip_unsupported, origin)


def measure(weight, *, bias=None, initial=None, initial_bias=None, direction=None,
            direction_bias=None, threshold=None, negligible=None, with_bias=False):
    """The condensation measures of one weight tensor: (out, in, kh, kw) for a conv layer, (out, in)
    for a linear one, numpy or torch. `initial` (the same layer at step 0) gives RD; `direction`
    (C*kh*kw values, or in) gives the alignment. Returns a LayerMeasures."""
    tensors = {"layer.weight": weight}
    if bias is not None:
        tensors["layer.bias"] = bias
    initial_tensors = None
    if initial is not None:
        initial_tensors = {"layer.weight": initial}
        if initial_bias is not None:
            initial_tensors["layer.bias"] = initial_bias
    result = _measure(tensors, initial=initial_tensors, direction=direction,
                      direction_bias=direction_bias, direction_layer=None, threshold=threshold,
                      negligible=negligible, with_bias=with_bias, skip_unsupported=False,
                      origin="the weight", name="layer")
    if not result["layers"]:
        raise ValueError("; ".join(result["unmeasurable"]) or "the weight cannot be measured")
    return _layer(result["layers"][0])


def measure_state_dict(state_dict, *, initial=None, direction=None, direction_bias=None,
                       direction_layer=None, threshold=None, negligible=None, with_bias=False,
                       skip_unsupported=True):
    """The measures of every conv and linear layer of a state_dict (or any mapping of names to
    arrays), keyed by layer name ("conv1", "layer1.0.conv1"): "<layer>.weight" of 4 or 2
    dimensions, with "<layer>.bias" beside it. Other tensors (BatchNorm statistics, embeddings)
    are skipped, and listed in the attribute `skipped` of the result, unless skip_unsupported is
    False. `initial` (a state_dict at step 0) gives RD; `direction` the alignment of
    `direction_layer` (by default the first layer)."""
    result = _measure(state_dict, initial=initial, direction=direction,
                      direction_bias=direction_bias, direction_layer=direction_layer,
                      threshold=threshold, negligible=negligible, with_bias=with_bias,
                      skip_unsupported=skip_unsupported, origin="the state_dict", name="layer")
    measures = StateDictMeasures((r["layer"], _layer(r)) for r in result["layers"])
    measures.skipped = list(result["skipped"])
    measures.unmeasurable = list(result["unmeasurable"])
    return measures


class StateDictMeasures(dict):
    """Layer name -> LayerMeasures, in the state_dict's order, with the tensors left out:
    `skipped` (not conv or linear weights) and `unmeasurable` (NaN, infinite or zero weights)."""

    skipped: list
    unmeasurable: list
