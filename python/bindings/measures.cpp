// Condensation measures of weights given from Python: the same grouping into layers, the same
// checks and the same measures as `condense analyze --weights` (pipeline/reanalysis.cpp).
#include <fmt/format.h>

#include <map>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "condense/analysis/weight_tensors.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "condense/pipeline/reanalysis.hpp"
#include "condense/rundir/cosines.hpp"

namespace condense::python {

namespace {

// (name, array) pairs as the tensors the library reads from files; `origin` names them in messages.
std::vector<NamedTensor> named_tensors(const py::list& items, const std::string& origin) {
  std::vector<NamedTensor> tensors;
  for (const auto& item : items) {
    const auto pair = item.cast<py::tuple>();
    NamedTensor tensor;
    tensor.name = pair[0].cast<std::string>();
    const DoubleArray array = pair[1].cast<DoubleArray>();
    tensor.shape = shape_of(array);
    tensor.values = values_of(array);
    tensor.origin = origin;
    tensors.push_back(std::move(tensor));
  }
  return tensors;
}

py::dict layer_result(const LayerWeights& layer, const LayerMeasures& measures) {
  py::dict result;
  result["layer"] = layer.layer;
  result["shape"] = layer.shape;
  result["measures"] = to_python(measures_json(measures));
  const auto M = py::ssize_t(measures.kernels.kernels);
  py::array_t<double> cosines({M, M});
  std::copy(measures.kernels.cosines.begin(), measures.kernels.cosines.end(),
            cosines.mutable_data());
  result["cosines"] = cosines;
  py::array_t<std::int64_t> order(M);
  std::copy(measures.kernels.clusters.order.begin(), measures.kernels.clusters.order.end(),
            order.mutable_data());
  result["order"] = order;
  result["norms"] = measures.kernels.norms;
  result["orientation"] = measures.kernels.clusters.orientation;
  result["line"] = measures.kernels.clusters.line;
  return result;
}

// measure(tensors, initial, direction, direction_bias, direction_layer, threshold, negligible,
// with_bias, skip_unsupported, origin)
py::dict measure(const py::list& tensor_items, const py::object& initial_items,
                 const py::object& direction_array, const py::object& direction_bias,
                 const std::string& direction_layer, const py::object& threshold,
                 const py::object& negligible, bool with_bias, bool skip_unsupported,
                 const std::string& origin) {
  MeasureOverrides overrides;
  if (!threshold.is_none()) overrides.threshold = threshold.cast<double>();
  if (!negligible.is_none()) overrides.negligible = negligible.cast<double>();
  overrides.with_bias = with_bias;
  const MeasureOptions options = resolve_measure_options(overrides, MeasureOptions{});

  const std::vector<NamedTensor> tensors = named_tensors(tensor_items, origin);
  std::vector<NamedTensor> initial_tensors;
  if (!initial_items.is_none())
    initial_tensors = named_tensors(initial_items.cast<py::list>(), origin + " (initial)");
  PredictedDirection direction;
  const bool has_direction = !direction_array.is_none();
  if (has_direction) direction.weight = values_of(direction_array.cast<DoubleArray>());
  if (!direction_bias.is_none()) direction.bias = direction_bias.cast<double>();

  std::vector<std::string> skipped, unmeasurable;
  std::vector<LayerWeights> layers;
  std::vector<LayerWeights> initial_layers;
  std::vector<LayerMeasures> measures;
  {
    py::gil_scoped_release release;
    layers = group_layers(tensors, skip_unsupported, &skipped, &unmeasurable);
    if (!initial_tensors.empty())
      initial_layers = group_layers(initial_tensors, true, nullptr, nullptr);
  }
  if (layers.empty() && !unmeasurable.empty())
    fail_input("{} holds no layer that can be measured: {}", origin,
               fmt::join(unmeasurable, "; "));
  if (layers.empty())
    fail_input("{} holds no conv or linear weights; {}", origin,
               "condense analyzes conv weights (out, in, kh, kw) and linear weights (out, in)");
  std::map<std::string, const LayerWeights*> initial_by_name;
  for (const auto& layer : initial_layers) initial_by_name[layer.layer] = &layer;
  // The direction belongs to one layer: the one named, else the first.
  std::string aligned = direction_layer.empty() ? layers.front().layer : direction_layer;
  if (has_direction && !direction_layer.empty()) {
    bool found = false;
    for (const auto& layer : layers) found = found || layer.layer == direction_layer;
    if (!found) fail_input("direction_layer \"{}\" is not a measured layer of {}", direction_layer, origin);
  }

  py::list results;
  for (const auto& layer : layers) {
    const LayerWeights* initial = nullptr;
    if (auto it = initial_by_name.find(layer.layer); it != initial_by_name.end()) {
      initial = it->second;
      if (initial->shape != layer.shape || initial->bias.size() != layer.bias.size())
        fail_input("the initial weights of layer {} have shape {} but its weights have {}",
                   layer.layer, shape_string(initial->shape), shape_string(layer.shape));
    } else if (!initial_tensors.empty()) {
      fail_input("the initial weights have no layer {}", layer.layer);
    }
    std::vector<double> layer_direction;
    if (has_direction && layer.layer == aligned) {
      std::string why;
      layer_direction = direction_for_layer(direction, layer, options.with_bias, &why);
      if (layer_direction.empty())
        fail_input("the direction does not fit layer {}: {}", layer.layer, why);
    }
    LayerMeasures m;
    {
      py::gil_scoped_release release;
      m = measure_layer(layer, initial, options,
                        layer_direction.empty() ? nullptr : layer_direction.data());
    }
    results.append(layer_result(layer, m));
  }
  py::dict result;
  result["layers"] = results;
  result["skipped"] = skipped;
  result["unmeasurable"] = unmeasurable;
  result["threshold"] = options.threshold;
  result["negligible"] = options.negligible;
  result["with_bias"] = options.with_bias;
  return result;
}

}  // namespace

void bind_measures(py::module_& m) {
  m.def("measure", &measure, py::arg("tensors"), py::arg("initial"), py::arg("direction"),
        py::arg("direction_bias"), py::arg("direction_layer"), py::arg("threshold"),
        py::arg("negligible"), py::arg("with_bias"), py::arg("skip_unsupported"),
        py::arg("origin"),
        "Measures the conv and linear layers of (name, array) pairs, as condense analyze does.");
}

}  // namespace condense::python
