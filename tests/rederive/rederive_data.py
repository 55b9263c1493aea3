"""The training and test sets of a run, read from the IDX files as docs/data.md describes them.

Written from the documentation alone, without condense's C++ code: file reading (plain or gzipped,
the plain file winning), the class subset and its re-indexing, the "first" training subset, the
test subset, the normalization (statistics of the training inputs only) and the target encoding.
"""

import gzip
import pathlib
import struct

import numpy as np

DEFAULT_PATHS = {"fashion-mnist": "/usr/share/datasets/fashion-mnist"}
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CLASS_COUNT = 10


class UnsupportedRun(Exception):
    """The run asks for something this re-derivation does not implement."""


def _open_idx(directory, name):
    """The file object of an IDX file, plain or gzipped; the plain one wins if both exist."""
    plain = directory / name
    if plain.exists():
        return open(plain, "rb"), str(plain)
    packed = directory / (name + ".gz")
    if packed.exists():
        return gzip.open(packed, "rb"), str(packed)
    raise FileNotFoundError(f"{directory}: neither {name} nor {name}.gz exists")


def _read_exactly(stream, count, path, what):
    data = stream.read(count)
    if len(data) != count:
        raise ValueError(f"{path}: {what}: {count} bytes expected, the file ends after "
                         f"{len(data)}")
    return data


def _read_labels(directory, name):
    stream, path = _open_idx(directory, name)
    with stream:
        magic, count = struct.unpack(">II", _read_exactly(stream, 8, path, "header"))
        if magic != 0x00000801:
            raise ValueError(f"{path}: magic {magic:#010x} is not that of IDX labels")
        labels = _read_exactly(stream, count, path, "labels")
    return np.frombuffer(labels, dtype=np.uint8).astype(np.int64)


def _read_images(directory, name, count):
    """The first `count` images of an IDX file, (count, 1, rows, columns) uint8."""
    stream, path = _open_idx(directory, name)
    with stream:
        magic, total, rows, columns = struct.unpack(">IIII",
                                                    _read_exactly(stream, 16, path, "header"))
        if magic != 0x00000803:
            raise ValueError(f"{path}: magic {magic:#010x} is not that of IDX images")
        if count > total:
            raise ValueError(f"{path}: {count} images needed, the file holds {total}")
        pixels = _read_exactly(stream, count * rows * columns, path, "images")
    return np.frombuffer(pixels, dtype=np.uint8).reshape(count, 1, rows, columns)


def _split(directory, split, classes, size):
    """(pixels, original labels) of a split: records of the classes in use, the first `size`
    of them (all for size 0)."""
    images_name, labels_name = IDX_FILES[split]
    labels = _read_labels(directory, labels_name)
    keep = np.isin(labels, classes) if classes else np.ones(len(labels), dtype=bool)
    kept = np.flatnonzero(keep)
    if size > 0:
        if size > len(kept):
            raise ValueError(f"{split}: {size} records asked, {len(kept)} exist")
        kept = kept[:size]
    # Images are read up to the last record kept, not further.
    images = _read_images(directory, images_name, int(kept[-1]) + 1 if len(kept) else 0)
    return images[kept], labels[kept]


def _normalize(train_u, test_u, mode):
    if mode == "none":
        return train_u, test_u
    if mode == "standard":
        mean = train_u.mean()
        std = np.sqrt(((train_u - mean) ** 2).mean())
        return (train_u - mean) / std, (test_u - mean) / std
    if mode == "per-channel":
        mean = train_u.mean(axis=(0, 2, 3), keepdims=True)
        std = np.sqrt(((train_u - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True))
        return (train_u - mean) / std, (test_u - mean) / std
    raise UnsupportedRun(f"data.normalize = {mode!r}")


def _encode(original, classes, target, positive_classes):
    """Targets of a split: (N,) int64 class indices, or (N, K) float64 values."""
    in_use = classes if classes else list(range(CLASS_COUNT))
    index = {c: j for j, c in enumerate(in_use)}
    reindexed = np.array([index[c] for c in original], dtype=np.int64)
    if target == "class":
        return reindexed
    if target == "onehot":
        encoded = np.zeros((len(original), len(in_use)))
        encoded[np.arange(len(original)), reindexed] = 1.0
        return encoded
    if target == "binary":
        return np.where(np.isin(original, positive_classes), 1.0, -1.0).reshape(-1, 1)
    raise UnsupportedRun(f"data.target = {target!r}")


def load_run_data(data):
    """Train and test sets of a run's [data] table: dicts with inputs (N, C, H, W) float64,
    targets (see _encode), and the class count in use."""
    dataset = data["dataset"]
    if dataset not in ("fashion-mnist", "mnist"):
        raise UnsupportedRun(f"data.dataset = {dataset!r} (only IDX image data is re-derived)")
    if data["subset"] != "first":
        raise UnsupportedRun("data.subset = 'balanced' draws from condense's generator")
    directory = pathlib.Path(data["path"] or DEFAULT_PATHS.get(dataset, ""))
    classes = list(data["classes"])
    train_pixels, train_labels = _split(directory, "train", classes, data["train_size"])
    test_size = data["test_size"]
    if test_size == 0:
        test_pixels, test_labels = train_pixels[:0], train_labels[:0]
    else:
        test_pixels, test_labels = _split(directory, "test", classes, max(test_size, 0))
    train_u = train_pixels.astype(np.float64) / 255.0
    test_u = test_pixels.astype(np.float64) / 255.0
    train_x, test_x = _normalize(train_u, test_u, data["normalize"])
    positive = list(data["positive_classes"])
    return {
        "classes": len(classes) if classes else CLASS_COUNT,
        "train": {"inputs": train_x,
                  "targets": _encode(train_labels, classes, data["target"], positive)},
        "test": {"inputs": test_x,
                 "targets": _encode(test_labels, classes, data["target"], positive)},
    }
