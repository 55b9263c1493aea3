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
