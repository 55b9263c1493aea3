// The theory's prediction for data given from Python (docs/python.md, docs/theory.md): the same
// TheoryProblem (theory/theory_problem.hpp), the same targets (data/targets.hpp), the same numbers
// and files as `condense predict` and `condense train`.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>

#include "bindings.hpp"
#include "condense/config/config.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "condense/data/dataset.hpp"
#include "condense/data/targets.hpp"
#include "condense/pipeline/run_prediction.hpp"
#include "condense/theory/theory_problem.hpp"

namespace condense::python {

namespace {

using LabelArray = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

// The most outputs a model may have (as model.outputs), and the most (N, K) target values made
// from class labels (2 GiB of doubles).
constexpr std::int64_t kMaxOutputs = std::int64_t(1) << 20;
constexpr std::int64_t kMaxTargetValues = std::int64_t(1) << 28;

std::string shape_text(const py::array& array) {
  return shape_string(shape_of(array));
}

py::array_t<double> numpy_copy(const double* values, const std::vector<std::int64_t>& shape) {
  std::vector<py::ssize_t> dims(shape.begin(), shape.end());
  py::array_t<double> array(dims);
  std::copy(values, values + array.size(), array.mutable_data());
  return array;
}

// One layer's init as condense.predict describes it: (scheme, std, gamma, fan).
InitSpec init_spec(const py::tuple& description) {
  if (description.size() != 4)
    fail_input("an init is described by (scheme, std, gamma, fan), got {} values",
               description.size());
  InitSpec spec;
  spec.scheme = parse_init_scheme(description[0].cast<std::string>());
  if (!description[1].is_none()) spec.std = description[1].cast<double>();
  if (!description[2].is_none()) spec.gamma = description[2].cast<double>();
  const std::string fan = description[3].cast<std::string>();
  if (fan != "in" && fan != "out") fail_input("init fan \"{}\": expected \"in\" or \"out\"", fan);
  spec.gamma_fan_out = fan == "out";
  return spec;
}

// The samples: (N, C, H, W) for a CNN; (N, F), or images (N, C, H, W) read flattened, for an FC
// net.
FeatureShape sample_shape(const DoubleArray& inputs, bool fc) {
  const auto dims = shape_of(inputs);
  if (dims.size() != 4 && !(fc && dims.size() == 2))
    fail_input("the inputs have shape {}; expected {}", shape_text(inputs),
               fc ? "(N, F) or images (N, C, H, W)" : "(N, C, H, W)");
  std::int64_t sample_size = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) sample_size *= dims[i];
  if (dims[0] > std::numeric_limits<int>::max() || sample_size > std::numeric_limits<int>::max())
    fail_input("the inputs have shape {}: too large", shape_text(inputs));
  if (fc) return {int(sample_size), 1, 1};
  return {int(dims[1]), int(dims[2]), int(dims[3])};
}

// Targets the way data/targets.cpp makes them from class labels, or float targets used as they are.
struct PythonTargets {
  std::vector<int> labels;
  std::vector<double> values;
  int width = 0;
};

PythonTargets label_targets(const LabelArray& labels, const std::string& target,
                            const std::vector<int>& positive_classes, int outputs,
                            std::int64_t samples) {
  if (labels.ndim() != 1)
    fail_input("the class labels have shape {}; expected (N,) with N = {}", shape_text(labels),
               samples);
  if (labels.shape(0) != samples)
    fail_input("the inputs have {} samples but the targets have {}", samples, labels.shape(0));
  DataSplit split;
  const std::int64_t* y = labels.data();
  for (py::ssize_t i = 0; i < labels.shape(0); ++i) {
    if (y[i] < std::numeric_limits<int>::min() || y[i] > std::numeric_limits<int>::max())
      fail_input("sample {} has class {}, outside the range of class labels", i, y[i]);
    split.original_labels.push_back(int(y[i]));
  }
  DataSpec spec;
  spec.target = parse_target(target);
  spec.positive_classes = positive_classes;
  if (spec.target == TargetKind::regression)
    fail_input("target \"regression\" takes float targets, not integer class labels");
  if (spec.target == TargetKind::binary) {
    if (positive_classes.empty())
      fail_input("target \"binary\" needs positive_classes: the classes whose target is +1");
    encode_targets(spec, {}, split);
  } else {
    // Classes 0..K−1, K = outputs or the largest label + 1, as data.classes re-indexes them.
    const auto largest =
        std::max_element(split.original_labels.begin(), split.original_labels.end());
    const std::int64_t classes = outputs > 0 ? outputs : std::int64_t(*largest) + 1;
    for (std::size_t i = 0; i < split.original_labels.size(); ++i)
      if (split.original_labels[i] < 0 || split.original_labels[i] >= classes)
        fail_input("sample {} has class {}, outside 0..{}", i, split.original_labels[i],
                   classes - 1);
    // Checked before the one-hot rows (and later the (N, K) effective targets) are allocated.
    if (classes > kMaxOutputs || classes * samples > kMaxTargetValues)
      fail_input(
          "the class labels go up to {}: {} outputs for {} samples are too many (at most {} "
          "outputs and {} target values); re-index the labels 0..K-1",
          classes - 1, classes, samples, kMaxOutputs, kMaxTargetValues);
    std::vector<int> class_ids(std::size_t(classes), 0);
    for (int k = 0; k < int(classes); ++k) class_ids[std::size_t(k)] = k;
    encode_targets(spec, class_ids, split);
  }
  return {split.labels, split.targets, split.target_width};
}

PythonTargets float_targets(const DoubleArray& targets, std::int64_t samples) {
  if (targets.ndim() != 1 && targets.ndim() != 2)
    fail_input("the float targets have shape {}; expected (N,) or (N, K) with N = {}",
               shape_text(targets), samples);
  if (targets.shape(0) != samples)
    fail_input("the inputs have {} samples but the targets have {}", samples, targets.shape(0));
  const py::ssize_t width = targets.ndim() == 2 ? targets.shape(1) : 1;
  if (width > std::numeric_limits<int>::max())
    fail_input("the float targets have shape {}: too many columns", shape_text(targets));
  return {{}, values_of(targets), int(width)};
}

// predict(inputs, family, labels, targets, target, positive_classes, outputs, kernels, kernel,
//         stride, padding, bias, readout_bias, activation, loss, first_init, readout_init, optimizer, lr,
//         momentum, batch_size, weight_decay, description)
Prediction predict_arrays(const DoubleArray& inputs, const std::string& family,
                          const py::object& labels, const py::object& targets,
                          const std::string& target, const std::vector<int>& positive_classes,
                          int outputs, int kernels, int kernel, int stride, int padding, bool bias,
                          bool readout_bias, const std::string& activation, const std::string& loss,
                          const py::tuple& first_init, const py::tuple& readout_init,
                          const std::string& optimizer, const py::object& lr, double momentum,
                          int batch_size, double weight_decay, const std::string& description) {
  if (family != "cnn" && family != "fc")
    fail_input("model family \"{}\": expected \"cnn\" or \"fc\"", family);
  const bool fc = family == "fc";
  if (kernels < 1) fail_input("{} must be at least 1, got {}", fc ? "width" : "kernels", kernels);
  if (outputs < 0) fail_input("outputs must be at least 1, got {}", outputs);
  const FeatureShape shape = sample_shape(inputs, fc);
  const std::int64_t samples = inputs.shape(0);
  if (samples > std::numeric_limits<int>::max())
    fail_input("the inputs have {} samples: too many", samples);
  if (samples == 0) fail_input("the prediction needs training data: there are no samples");
  if (labels.is_none() == targets.is_none())
    fail_input("give the targets as class labels or as float targets (one of the two)");
  if (!targets.is_none() && parse_target(target) != TargetKind::regression)
    fail_input(
        "float targets are used as they are (target \"regression\"); target \"{}\" "
        "is made from integer class labels",
        target);
  const PythonTargets made = labels.is_none() ? float_targets(targets.cast<DoubleArray>(), samples)
                                              : label_targets(labels.cast<LabelArray>(), target,
                                                              positive_classes, outputs, samples);

  TheorySetup setup;
  ModelSpec& model = setup.model;
  if (fc)
    model.hidden = {kernels};
  else
    model.conv = {ConvSpec{kernels, kernel, stride, padding, Pooling::none}};
  model.activations = {parse_activation(activation)};
  model.bias = bias;
  setup.readout_bias = readout_bias;
  model.outputs = outputs;
  setup.loss = parse_loss(loss);
  const std::string first_layer = fc ? "fc1" : "conv1", readout_layer = fc ? "fc2" : "fc1";
  setup.init.layers[first_layer] = init_spec(first_init);
  setup.init.layers[readout_layer] = init_spec(readout_init);
  setup.init.all = setup.init.layers[first_layer];
  OptimizerSpec& o = setup.train.optimizer;
  o.kind = parse_optimizer(optimizer);
  o.momentum = momentum;
  o.weight_decay = weight_decay;
  setup.train.batch_size = batch_size;
  setup.has_optimizer = !lr.is_none();
  if (setup.has_optimizer) {
    o.lr = lr.cast<double>();
    o.validate();
  }

  TheoryData data;
  data.shape = shape;
  data.samples = int(samples);
  data.inputs = inputs.data();
  data.labels = made.labels.empty() ? nullptr : made.labels.data();
  data.targets = made.values.empty() ? nullptr : made.values.data();
  data.target_width = made.width;
  data.target_encoding = target;
  data.description = description;
  py::gil_scoped_release release;
  return predict(theory_problem(setup, data));
}

// The initial state of the model the prediction is for, from its first layer's weight (and bias)
// and its readout's weight, as nn/model.cpp lays them out.
ParameterStore<double> initial_parameters(const Prediction& prediction,
                                          const DoubleArray& first_weight,
                                          const py::object& first_bias,
                                          const DoubleArray& readout_weight) {
  const TheoryModel& model = prediction.model;
  const std::int64_t M = model.kernels(), K = model.outputs, L = model.positions();
  std::vector<std::int64_t> first_shape = model.kernel_shape();
  first_shape.insert(first_shape.begin(), M);
  const std::vector<std::int64_t> readout_shape = {K, M * L};
  const std::string first = model.first_layer(), readout = model.readout_layer();
  if (shape_of(first_weight) != first_shape)
    fail_input("the initial {}.weight has shape {}; the prediction is for {}, which needs {}",
               first, shape_text(first_weight), model.describe(), shape_string(first_shape));
  if (shape_of(readout_weight) != readout_shape)
    fail_input("the initial {}.weight has shape {}; the prediction is for {}, which needs {}",
               readout, shape_text(readout_weight), model.describe(), shape_string(readout_shape));
  if (model.bias == first_bias.is_none())
    fail_input("the prediction is for a model {} bias, but the initial weights {} {}.bias",
               model.bias ? "with" : "without", first_bias.is_none() ? "have no" : "have a", first);
  ParameterStore<double> store;
  const int weight_id = store.add(first, false, first_shape, 0, 0);
  const int bias_id = model.bias ? store.add(first, true, {M}, 0, 0) : -1;
  const int readout_id = store.add(readout, false, readout_shape, 0, 0);
  store.allocate();
  std::copy(first_weight.data(), first_weight.data() + first_weight.size(), store.value(weight_id));
  std::copy(readout_weight.data(), readout_weight.data() + readout_weight.size(),
            store.value(readout_id));
  if (model.bias) {
    const DoubleArray bias = first_bias.cast<DoubleArray>();
    if (shape_of(bias) != std::vector<std::int64_t>{M})
      fail_input("the initial {}.bias has shape {}; expected ({},)", first, shape_text(bias), M);
    std::copy(bias.data(), bias.data() + bias.size(), store.value(bias_id));
  }
  if (!store.values().allFinite())
    fail_input("the initial weights have a non-finite value (NaN or infinity)");
  return store;
}

// mean_β |cos(W_β(t), v₁)| at the given steps (t = η_step·step) or times.
py::array_t<double> predicted_alignment_of(const Prediction& prediction,
                                           const DoubleArray& first_weight,
                                           const py::object& first_bias,
                                           const DoubleArray& readout_weight,
                                           const py::object& steps, const py::object& times) {
  if (steps.is_none() == times.is_none()) fail_input("give steps or times (one of the two)");
  const ParameterStore<double> store =
      initial_parameters(prediction, first_weight, first_bias, readout_weight);
  std::vector<double> alignment;
  if (!steps.is_none()) {
    if (!prediction.step_lr)
      fail_input("the prediction has no optimizer steps ({}); give times instead",
                 prediction.step_rule);
    const auto step_list = steps.cast<std::vector<long>>();
    for (long step : step_list)
      if (step < 0) fail_input("steps must be 0 or more, got {}", step);
    py::gil_scoped_release release;
    alignment =
        predicted_alignment_at_steps(prediction, kernel_state(prediction.model, store), step_list);
  } else {
    const auto time_list = times.cast<std::vector<double>>();
    for (double t : time_list)
      if (!(t >= 0.0) || !std::isfinite(t))
        fail_input("times must be finite and 0 or more, got {}", t);
    py::gil_scoped_release release;
    alignment = predicted_alignment(linear_dynamics(prediction), prediction.spectrum,
                                    kernel_state(prediction.model, store), time_list);
  }
  return numpy_copy(alignment.data(), {std::int64_t(alignment.size())});
}

// prediction.json and v1.npy, and with the initial weights predicted_alignment.csv, into a run
// directory, as `condense train` writes them. With `network`, the run's network is deeper than the
// theory's and `layer` is its first layer: prediction.json says so (PredictionScope).
void write_run_files(const Prediction& given, const std::string& directory,
                     const py::object& first_weight, const py::object& first_bias,
                     const py::object& readout_weight, const py::object& total_steps,
                     const py::object& layer, const py::object& network) {
  const RunDirectory run{directory};
  Prediction prediction = given;
  if (!network.is_none())
    prediction.scope = PredictionScope{layer.cast<std::string>(), network.cast<std::string>()};
  std::optional<ParameterStore<double>> store;
  long total = 0;
  if (!first_weight.is_none()) {
    store = initial_parameters(prediction, first_weight.cast<DoubleArray>(), first_bias,
                               readout_weight.cast<DoubleArray>());
    if (total_steps.is_none())
      fail_input("predicted_alignment.csv needs the run's total number of steps");
    total = total_steps.cast<long>();
    if (total < 0) fail_input("the run's total steps must be 0 or more, got {}", total);
  }
  py::gil_scoped_release release;
  write_prediction_files(prediction, run.root);
  if (store) write_predicted_alignment(prediction, *store, total, run);
}

// The training data a run config loads, as `condense predict` and `condense train` see them.
py::dict training_data(const std::string& config_path, const std::vector<std::string>& overrides) {
  const RunConfig config = load_config(config_path, overrides);
  Data data;
  {
    py::gil_scoped_release release;
    data = load_data(config.data, config.seed);
  }
  const DataSplit& train = data.train;
  py::dict result;
  result["inputs"] = numpy_copy(train.inputs.data(), {train.size, train.shape.channels,
                                                      train.shape.height, train.shape.width});
  auto labels = [](const std::vector<int>& values) -> py::object {
    if (values.empty()) return py::none();
    return py::array_t<std::int64_t>(
        py::ssize_t(values.size()), std::vector<std::int64_t>(values.begin(), values.end()).data());
  };
  result["labels"] = labels(train.labels);
  result["original_labels"] = labels(train.original_labels);
  result["targets"] =
      train.targets.empty()
          ? py::object(py::none())
          : py::object(numpy_copy(train.targets.data(), {train.size, train.target_width}));
  result["target"] = target_name(config.data.target);
  result["target_width"] = train.target_width;
  result["positive_classes"] = config.data.positive_classes;
  result["description"] = data.description;
  return result;
}

}  // namespace

void bind_theory(py::module_& m) {
  py::class_<Prediction>(m, "TheoryPrediction",
                         "The theory's prediction (docs/theory.md), as condense predict makes it.")
      .def(
          "json", [](const Prediction& p) { return to_python(prediction_json(p)); },
          "prediction.json as a dict")
      .def("summary", &prediction_summary, "The lines condense predict prints")
      .def(
          "direction",
          [](const Prediction& p) {
            const Vector<double> v1 = p.v1();
            return numpy_copy(v1.data(), {std::int64_t(v1.size())});
          },
          "v1 over the weights and the bias together (d)")
      .def(
          "v1_weights",
          [](const Prediction& p) {
            const Vector<double> v1 = v1_weights(p);
            return numpy_copy(v1.data(), p.model.kernel_shape());
          },
          "v1's weight part shaped like one kernel, as v1.npy holds it")
      .def(
          "singular_values",
          [](const Prediction& p) {
            const Vector<double>& s = p.spectrum.singular_values;
            return numpy_copy(s.data(), {std::int64_t(s.size())});
          },
          "Every singular value of Z, descending")
      .def("predicted_alignment", &predicted_alignment_of, py::arg("first_weight"),
           py::arg("first_bias"), py::arg("readout_weight"), py::arg("steps"), py::arg("times"),
           "mean |cos(W(t), v1)| from the initial weights, at the given steps or times")
      .def("write", &write_run_files, py::arg("directory"), py::arg("first_weight"),
           py::arg("first_bias"), py::arg("readout_weight"), py::arg("total_steps"),
           py::arg("layer") = py::none(), py::arg("network") = py::none(),
           "Writes prediction.json, v1.npy and, with the initial weights, "
           "predicted_alignment.csv into a run directory");
  m.def("predict", &predict_arrays, py::arg("inputs"), py::arg("family"), py::arg("labels"),
        py::arg("targets"), py::arg("target"), py::arg("positive_classes"), py::arg("outputs"),
        py::arg("kernels"), py::arg("kernel"), py::arg("stride"), py::arg("padding"),
        py::arg("bias"), py::arg("readout_bias"), py::arg("activation"), py::arg("loss"),
        py::arg("first_init"),
        py::arg("readout_init"), py::arg("optimizer"), py::arg("lr"), py::arg("momentum"),
        py::arg("batch_size"), py::arg("weight_decay"), py::arg("description"),
        "The theory's prediction for a two-layer CNN or FC net on the given data.");
  m.def("training_data", &training_data, py::arg("config_path"), py::arg("overrides"),
        "The training data a run config loads, as condense predict sees them.");
}

}  // namespace condense::python
