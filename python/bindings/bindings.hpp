#pragma once
// Shared pieces of the compiled module condense._core (docs/python.md): the functions that add
// each area's bindings to the module, and the conversions between numpy arrays and the library's
// row-major double buffers.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace condense::python {

namespace py = pybind11;

// A numpy array of doubles in C order: the array itself when it already is one (no copy), else a
// converted copy (float32, other strides, non-contiguous views).
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

// The shape of an array, as the library writes shapes.
std::vector<std::int64_t> shape_of(const py::array& array);

// The values of an array of doubles, copied into a vector.
std::vector<double> values_of(const DoubleArray& array);

// A JSON value as the Python object json.loads would give (dict, list, float, int, str, None);
// numbers keep every bit.
py::object to_python(const nlohmann::json& value);

// Each area's bindings (one file each).
void bind_measures(py::module_& m);
void bind_runs(py::module_& m);
void bind_theory(py::module_& m);
void bind_tracking(py::module_& m);

}  // namespace condense::python
