"""Shared fixtures of the Python package's tests: the condense executable and scratch folders."""

import os
import pathlib
import subprocess

import pytest


@pytest.fixture(scope="session")
def condense_binary():
    """The condense executable of this build (CONDENSE_BINARY, set by ctest)."""
    path = os.environ.get("CONDENSE_BINARY")
    if not path or not pathlib.Path(path).is_file():
        raise RuntimeError("set CONDENSE_BINARY to the condense executable (ctest does)")
    return path


@pytest.fixture(scope="session")
def run_condense(condense_binary):
    """Runs the condense executable with arguments; returns the CompletedProcess (text)."""

    def run(*arguments, check=True):
        result = subprocess.run([condense_binary, *map(str, arguments)], capture_output=True,
                                text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"condense {' '.join(map(str, arguments))} exited "
                                 f"{result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    return run


FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")


def read_idx(path):
    """An IDX file (gzip-compressed) as a numpy array: the magic's dtype byte must be 0x08
    (unsigned bytes), the dimensions big-endian 32-bit sizes."""
    import gzip

    import numpy as np

    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[:3] != b"\0\0\x08":
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


@pytest.fixture(scope="session")
def fashion_mnist():
    """The first 300 Fashion-MNIST training images as a float32 array (300, 1, 28, 28),
    standardized over the set (zero mean, unit standard deviation), and their labels (300,)."""
    import numpy as np

    images = read_idx(FASHION_MNIST / "train-images-idx3-ubyte.gz")[:300].astype(np.float32)
    labels = read_idx(FASHION_MNIST / "train-labels-idx1-ubyte.gz")[:300].astype(np.int64)
    images = (images - images.mean()) / images.std()
    return images[:, None, :, :], labels
