// condense._core: the library of condense for Python (docs/python.md). Errors of bad input raise
// ValueError and errors of files OSError, with the messages the command line prints.
#include "bindings.hpp"

#include "condense/core/error.hpp"

namespace condense::python {

std::vector<std::int64_t> shape_of(const py::array& array) {
  return std::vector<std::int64_t>(array.shape(), array.shape() + array.ndim());
}

std::vector<double> values_of(const DoubleArray& array) {
  return std::vector<double>(array.data(), array.data() + array.size());
}

py::object to_python(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return py::none();
    case nlohmann::json::value_t::boolean: return py::bool_(value.get<bool>());
    case nlohmann::json::value_t::number_integer: return py::int_(value.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned: return py::int_(value.get<std::uint64_t>());
    case nlohmann::json::value_t::number_float: return py::float_(value.get<double>());
    case nlohmann::json::value_t::string: return py::str(value.get<std::string>());
    case nlohmann::json::value_t::array: {
      py::list list;
      for (const auto& item : value) list.append(to_python(item));
      return list;
    }
    case nlohmann::json::value_t::object: {
      py::dict dict;
      for (const auto& [key, item] : value.items()) dict[py::str(key)] = to_python(item);
      return dict;
    }
    default: return py::none();
  }
}

}  // namespace condense::python

PYBIND11_MODULE(_core, m) {
  namespace py = pybind11;
  m.doc() = "condense's library: condensation measures, the theory's prediction, run directories";
  m.attr("__version__") = CONDENSE_VERSION;
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const condense::InputError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const condense::IoError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    }
  });
  condense::python::bind_measures(m);
  condense::python::bind_runs(m);
  condense::python::bind_theory(m);
  condense::python::bind_tracking(m);
}
