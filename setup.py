"""Builds condense's compiled module (condense._core) with the project's CMake, for the Python
that runs pip, and puts it beside the pure-Python files of python/condense."""

import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        # CONDENSE_BUILD_DIR: a CMake build folder to build in (and reuse), instead of a new one.
        build = pathlib.Path(os.environ.get("CONDENSE_BUILD_DIR") or
                             pathlib.Path(self.build_temp) / "cmake").resolve()
        build.mkdir(parents=True, exist_ok=True)
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython3_EXECUTABLE={sys.executable}", "-DCONDENSE_TESTS=OFF",
            "-DCONDENSE_BENCH=OFF", "-DCONDENSE_PYTHON=ON",
        ]
        # CONDENSE_NATIVE=OFF builds for any x86-64 CPU (a wheel to copy elsewhere).
        if os.environ.get("CONDENSE_NATIVE"):
            configure.append(f"-DCONDENSE_NATIVE={os.environ['CONDENSE_NATIVE']}")
        subprocess.run(configure, check=True)
        jobs = str(os.cpu_count() or 1)
        subprocess.run(["cmake", "--build", str(build), "--target", "condense_python", "-j", jobs],
                       check=True)
        built = next((build / "python" / "condense").glob("_core*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


setup(ext_modules=[CMakeExtension("condense._core")], cmdclass={"build_ext": CMakeBuild})
