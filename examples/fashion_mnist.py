"""Fashion-MNIST for the examples: the IDX files of the Debian package dataset-fashion-mnist
(/usr/share/datasets/fashion-mnist), or of a folder given with --data, as numpy arrays."""

import gzip
import pathlib
import sys

import numpy as np

FOLDER = pathlib.Path("/usr/share/datasets/fashion-mnist")


def read_idx(path):
    """An IDX file of unsigned bytes (gzip-compressed or not), as numpy reads it."""
    path = pathlib.Path(path)
    with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
        data = f.read()
    if data[:3] != b"\0\0\x08":
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def training_set(n, folder=FOLDER):
    """The first n training images (n, 1, 28, 28) as float32, standardized over the set (zero
    mean, unit standard deviation), and their labels (n,) as int64."""
    folder = pathlib.Path(folder)

    def find(name):
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.exists():
                return candidate
        sys.exit(f"{folder / name}.gz not found: install the Debian package "
                 "dataset-fashion-mnist (scripts/setup.sh does), or give --data")

    images = read_idx(find("train-images-idx3-ubyte"))[:n].astype(np.float32)
    labels = read_idx(find("train-labels-idx1-ubyte"))[:n].astype(np.int64)
    images = (images - images.mean()) / images.std()
    return images[:, None], labels
