"""A series of checkpoints saved over a training, written as a condense run directory
(docs/python.md): each checkpoint is a snapshot, measured as `condense train` measures its own,
with RD against the first, so that heatmaps over the series and the report exist."""

import pathlib
import re
import warnings

import numpy as np

from . import _core
from ._external import external_description, make_report

# The keys under which training scripts commonly keep the model's state_dict in a checkpoint.
_STATE_KEYS = ("state_dict", "model_state_dict", "model", "module", "net")


def _natural_key(name):
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", name) if part]


def _state_dict(loaded, path):
    """The mapping of names to tensors in what torch.load gave: a state_dict, or a checkpoint
    dict that holds one under a common key."""
    import torch

    def tensors_of(mapping):
        return {str(k): v for k, v in mapping.items() if isinstance(v, torch.Tensor)}

    if isinstance(loaded, dict):
        found = tensors_of(loaded)
        if found:
            return found
        for key in _STATE_KEYS:
            if isinstance(loaded.get(key), dict) and tensors_of(loaded[key]):
                return tensors_of(loaded[key])
        keys = ", ".join(map(str, list(loaded)[:12]))
        raise ValueError(f"{path}: holds a dict without tensors (keys: {keys or 'none'}); "
                         f"expected a state_dict, or a checkpoint with one under "
                         f"{', '.join(_STATE_KEYS)}")
    raise ValueError(f"{path}: holds a {type(loaded).__name__}; expected a state_dict (a dict of "
                     "names to tensors), as model.state_dict() gives")


def _float_arrays(tensors, path):
    """(name -> float numpy array, name -> stored as float32): floating-point tensors only;
    integer and boolean ones (num_batches_tracked) are left out."""
    import torch

    arrays, float32 = {}, {}
    for name, tensor in tensors.items():
        if isinstance(tensor, torch.Tensor):
            if tensor.is_complex() or not tensor.is_floating_point():
                continue
            single = tensor.dtype != torch.float64
            tensor = tensor.detach().to("cpu")
            if tensor.dtype not in (torch.float32, torch.float64):
                tensor = tensor.to(torch.float32)
            arrays[name], float32[name] = tensor.numpy(), single
        else:
            array = np.asarray(tensor)
            if array.dtype.kind != "f":
                continue
            single = array.dtype != np.float64
            arrays[name], float32[name] = array.astype(np.float32 if single else np.float64), single
    return arrays, float32


def _read_torch(path):
    import pickle

    import torch

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError,
            AttributeError, ImportError, TypeError, KeyError) as error:
        raise ValueError(f"{path}: cannot be read as a PyTorch checkpoint "
                         f"(torch.load(weights_only=True)): {error}") from None
    return _float_arrays(_state_dict(loaded, path), path)


def _read_safetensors(path):
    items, _skipped = _core.read_safetensors(str(path))
    header = _safetensors_dtypes(path)
    arrays = {name: array for name, array in items}
    float32 = {name: header.get(name) != "F64" for name in arrays}
    return arrays, float32


def _safetensors_dtypes(path):
    """name -> dtype of a safetensors file's header (the library has checked the file)."""
    import json

    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    return {k: v.get("dtype") for k, v in header.items() if isinstance(v, dict)}


def _read_npy_folder(path):
    files = sorted(path.glob("*.npy"), key=lambda p: _natural_key(p.name))
    if not files:
        raise ValueError(f"{path}: a folder without .npy files; expected one .npy file per tensor "
                         "(conv1.weight.npy, ...)")
    tensors = {}
    for file in files:
        try:
            tensors[file.name[:-4]] = np.load(file, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise ValueError(f"{file}: cannot be read as NPY: {error}") from None
    return _float_arrays(tensors, path)


def read_checkpoint(path):
    """The floating-point tensors of one checkpoint, in its order: a file written by torch.save
    (.pt, .pth, ...; read with torch.load(weights_only=True), which runs no code from the file), a
    .safetensors file, or a folder of .npy files. Returns (name -> array, name -> float32)."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        return _read_npy_folder(path)
    if path.suffix == ".safetensors":
        return _read_safetensors(path)
    return _read_torch(path)


def checkpoint_steps(files, steps=None):
    """The step of each file: `steps` as given, else the last number in each file name when every
    name has one and they differ, else 0, 1, 2, ... in the order given."""
    if steps is not None:
        steps = list(steps)
        if len(steps) != len(files):
            raise ValueError(f"{len(steps)} steps for {len(files)} checkpoints; give one step per "
                             "checkpoint")
        for s in steps:
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
                raise ValueError(f"steps must be integers ≥ 0, got {s!r}")
        steps = [int(s) for s in steps]
    else:
        numbers = []
        for f in files:
            found = re.findall(r"\d+", pathlib.Path(f).name.split(".")[0] if
                               pathlib.Path(f).is_dir() else pathlib.Path(f).stem)
            numbers.append(int(found[-1]) if found else None)
        steps = numbers if None not in numbers and len(set(numbers)) == len(numbers) \
            else list(range(len(files)))
    if len(set(steps)) != len(steps):
        twice = sorted({s for s in steps if steps.count(s) > 1})
        raise ValueError(f"step {twice[0]} is given to two checkpoints; each needs its own step")
    return steps


def _layer_tensors(arrays):
    """The names of the conv and linear weights (4-D or 2-D "<layer>.weight") and their biases,
    in order: what condense measures."""
    names = []
    for name, array in arrays.items():
        if name.endswith(".weight") and array.ndim in (2, 4) and array.size > 0:
            names.append(name)
            bias = name[:-len(".weight")] + ".bias"
            if bias in arrays and arrays[bias].shape == (array.shape[0],):
                names.append(bias)
    return names


def _differences(first, arrays):
    """What differs between two checkpoints' tensors, by name and shape."""
    missing = [n for n in first if n not in arrays]
    extra = [n for n in arrays if n not in first]
    shapes = [f"{n} has shape {tuple(arrays[n].shape)}, the first has {tuple(first[n])}"
              for n in first if n in arrays and tuple(arrays[n].shape) != tuple(first[n])]
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("not in the first: " + ", ".join(extra))
    return parts + shapes


def import_checkpoints(files, out, *, steps=None, threshold=None, negligible=None,
                       with_bias=False, description=None, overwrite=False, report=True,
                       save_cosines=True):
    """Writes the checkpoints `files` (state_dicts saved over one training: torch.save files,
    .safetensors files or folders of .npy files) as the run directory `out`, ordered by step
    (`steps`, else the number in each file name, else their order): every conv and linear weight
    and bias as snapshots/step_<k>/, measured (analysis.csv, with RD against the first
    checkpoint; cosines/), config.toml and summary.json, and the report (`report=False` skips
    it). Every checkpoint must hold the tensors of the first, with the same shapes. Returns the
    run directory as a pathlib.Path."""
    if isinstance(files, (str, pathlib.Path)):
        files = [files]
    files = [pathlib.Path(f) for f in files]
    if not files:
        raise ValueError("no checkpoints given")
    file_steps = checkpoint_steps(files, steps)
    order = sorted(range(len(files)), key=lambda i: file_steps[i])
    files = [files[i] for i in order]
    file_steps = [file_steps[i] for i in order]
    if description is not None and not isinstance(description, str):
        raise ValueError(f"description must be a string, got {type(description).__name__}")
    for f in files:
        if not f.exists():
            raise FileNotFoundError(f"{f}: no such file or folder")

    arrays, float32 = read_checkpoint(files[0])
    first_shapes = {n: a.shape for n, a in arrays.items()}
    kept = _layer_tensors(arrays)
    if not kept:
        shown = ", ".join(f"{n} {tuple(a.shape)}" for n, a in list(arrays.items())[:12])
        raise ValueError(f"{files[0]}: no conv or linear weights: condense measures 4-D "
                         f"(out, in, kh, kw) and 2-D (out, in) tensors named <layer>.weight; "
                         f"its tensors: {shown or 'none'}")
    import torch

    trained_with = "pytorch" if any(f.is_file() and f.suffix != ".safetensors"
                                    for f in files) else "checkpoints"
    listing = ", ".join(f"{f.name} (step {s})" for f, s in zip(files, file_steps))
    text = f"imported from {len(files)} checkpoints: {listing}"
    if description:
        text = f"{description}\n{text}"
    run = _core.ExternalRun(
        str(out), external_description(
            trained_with=trained_with, version=torch.__version__ if trained_with == "pytorch"
            else "", model_class="", model="",
            parameters=[(n, first_shapes[n]) for n in arrays], description=text),
        "none", 20, file_steps, threshold, negligible, bool(with_bias), bool(save_cosines),
        bool(overwrite), "overwrite=True", True)
    dtype = "float32" if float32[kept[0]] else "float64"
    parameters = int(sum(np.prod(shape, dtype=np.int64) for shape in first_shapes.values()))
    done = None
    try:
        for index, (path, step) in enumerate(zip(files, file_steps)):
            if index > 0:
                arrays, float32 = read_checkpoint(path)
                differences = _differences(first_shapes, arrays)
                if differences:
                    raise ValueError(f"{path}: its tensors differ from those of the first "
                                     f"checkpoint {files[0]}: " + "; ".join(differences))
            for why in run.snapshot(step, [(n, arrays[n], float32[n]) for n in kept]):
                warnings.warn(f"{path} (step {step}): {why}; the layer is not measured there",
                              RuntimeWarning, stacklevel=2)
            done = step
            del arrays
    except BaseException as error:
        # The checkpoints before the bad one stay readable, and summary.json says what stopped.
        run.write_tables([], [])
        run.finish("failed", str(error), done, None, None, 0.0, parameters, description or "",
                   dtype, "", ())
        raise
    run.write_tables([], [])
    run.finish("completed", "", file_steps[-1], None, None, 0.0, parameters, description or "",
               dtype, "", ())
    if report:
        make_report(out)
    return pathlib.Path(out)
