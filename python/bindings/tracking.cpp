// Run directories of trainings done outside condense (python/condense/tracking.py and
// checkpoints.py): the snapshot schedule of `condense train`, the run writer of
// pipeline/external_run.hpp, safetensors files read by the library, and the report.
#include <fmt/format.h>

#include <cmath>

#include "bindings.hpp"
#include "condense/analysis/weight_tensors.hpp"
#include "condense/config/config.hpp"
#include "condense/core/error.hpp"
#include "condense/pipeline/external_run.hpp"
#include "condense/pipeline/report_run.hpp"
#include "condense/train/trainer.hpp"

namespace condense::python {

namespace {

// "log", "none" or "every:K" with K ≥ 1, as track.snapshots takes it.
void check_schedule(const std::string& schedule) {
  if (schedule == "log" || schedule == "none") return;
  bool ok = schedule.rfind("every:", 0) == 0 && schedule.size() > 6 &&
            schedule.find_first_not_of("0123456789", 6) == std::string::npos &&
            schedule.size() < 6 + 18;
  if (ok) ok = std::stol(schedule.substr(6)) >= 1;
  if (!ok)
    fail_input("schedule \"{}\": expected \"log\", \"every:K\" with K ≥ 1, or \"none\"", schedule);
}

TrackConfig track_config(const std::string& schedule, int per_decade,
                         const std::vector<long>& extra_steps) {
  check_schedule(schedule);
  if (per_decade < 1 || per_decade > 1000)
    fail_input("per_decade must be an integer in [1, 1000], got {}", per_decade);
  for (long s : extra_steps)
    if (s < 0) fail_input("steps must be ≥ 0, got {}", s);
  TrackConfig track;
  track.snapshots = schedule;
  track.per_decade = per_decade;
  track.extra_steps = extra_steps;
  return track;
}

std::vector<long> steps_of(const std::string& schedule, int per_decade,
                           const std::vector<long>& extra_steps, long total) {
  if (total < 0) fail_input("total_steps must be ≥ 0, got {}", total);
  return snapshot_steps(track_config(schedule, per_decade, extra_steps), total);
}

std::string text_field(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return {};
  if (!j[key].is_string()) fail_input("the external description's {} must be a string", key);
  return j[key].get<std::string>();
}

// The [external] description as the Python side gives it, in JSON.
ExternalTraining external_training(const std::string& description) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(description);
  } catch (const nlohmann::json::exception& e) {
    fail_input("the external description is not JSON: {}", e.what());
  }
  if (!j.is_object()) fail_input("the external description must be a JSON object");
  ExternalTraining e;
  e.trained_with = text_field(j, "trained_with");
  e.version = text_field(j, "version");
  e.model_class = text_field(j, "model_class");
  e.model = text_field(j, "model");
  e.optimizer_class = text_field(j, "optimizer_class");
  e.description = text_field(j, "description");
  if (j.contains("parameters"))
    for (const auto& p : j["parameters"]) {
      if (!p.is_object() || !p.contains("name") || !p["name"].is_string() || !p.contains("shape") ||
          !p["shape"].is_array())
        fail_input("the external description's parameters must be {{name, shape}} objects");
      e.parameters.push_back(
          {p["name"].get<std::string>(), p["shape"].get<std::vector<std::int64_t>>()});
    }
  if (j.contains("optimizer")) {
    if (!j["optimizer"].is_array())
      fail_input("the external description's optimizer must be a list of parameter groups");
    for (const auto& group : j["optimizer"]) {
      if (!group.is_object())
        fail_input("the external description's optimizer groups must be objects");
      e.optimizer.push_back(group);
    }
  }
  return e;
}

// The run's config: the track settings and the external description, through config.toml's own
// writer and reader, so that what is written is what `condense analyze RUN` reads.
RunConfig run_config(const std::string& description, const std::string& schedule, int per_decade,
                     const std::vector<long>& extra_steps, const py::object& threshold,
                     const py::object& negligible, bool with_bias, bool save_cosines) {
  RunConfig config;
  config.track = track_config(schedule, per_decade, extra_steps);
  if (!threshold.is_none()) config.track.threshold = threshold.cast<double>();
  if (!negligible.is_none()) config.track.negligible = negligible.cast<double>();
  if (!(config.track.threshold > 0 && config.track.threshold < 1))
    fail_input("threshold must be a number in (0, 1), got {}", config.track.threshold);
  if (!(config.track.negligible >= 0 && config.track.negligible < 1))
    fail_input("negligible must be a number in [0, 1), got {}", config.track.negligible);
  config.track.with_bias = with_bias;
  config.track.save_cosines = save_cosines;
  config.external = external_training(description);
  if (!config.external.given())
    fail_input("the external description needs trained_with (\"pytorch\")");
  return load_config_text(to_toml(config), "config.toml", {});
}

double number_or_nan(const py::handle& value) {
  return value.is_none() ? std::nan("") : value.cast<double>();
}

ExternalTensor external_tensor(const py::handle& item) {
  const auto entry = item.cast<py::tuple>();
  if (entry.size() != 3) fail_input("a snapshot tensor is (name, array, float32)");
  ExternalTensor tensor;
  tensor.name = entry[0].cast<std::string>();
  const DoubleArray array = entry[1].cast<DoubleArray>();
  tensor.shape = shape_of(array);
  tensor.values = values_of(array);
  tensor.stored = entry[2].cast<bool>() ? NpyType::float32 : NpyType::float64;
  return tensor;
}

MetricsRow metrics_row(const py::handle& item) {
  const auto entry = item.cast<py::tuple>();
  if (entry.size() != 9)
    fail_input(
        "a metrics row is (step, epoch, time_s, lr, train_loss, train_acc, test_loss, "
        "test_acc, extra)");
  MetricsRow row;
  row.step = entry[0].cast<long>();
  row.epoch = number_or_nan(entry[1]);
  row.time_s = entry[2].cast<double>();
  row.lr = number_or_nan(entry[3]);
  row.train_loss = number_or_nan(entry[4]);
  row.train_acc = number_or_nan(entry[5]);
  row.test_loss = number_or_nan(entry[6]);
  row.test_acc = number_or_nan(entry[7]);
  for (const auto& value : entry[8].cast<py::list>()) row.extra.push_back(number_or_nan(value));
  return row;
}

RunStatus status_of(const std::string& name) {
  for (RunStatus s :
       {RunStatus::completed, RunStatus::interrupted, RunStatus::diverged, RunStatus::failed})
    if (name == status_name(s)) return s;
  fail_input("status \"{}\": expected \"completed\", \"interrupted\", \"diverged\" or \"failed\"",
             name);
}

py::tuple safetensors_file(const std::string& path) {
  WeightTensors tensors;
  {
    py::gil_scoped_release release;
    tensors = read_safetensors(path, true);
  }
  py::list items;
  for (const NamedTensor& t : tensors.tensors) {
    std::vector<py::ssize_t> shape(t.shape.begin(), t.shape.end());
    py::array_t<double> array(shape);
    std::copy(t.values.begin(), t.values.end(), array.mutable_data());
    items.append(py::make_tuple(t.name, array));
  }
  return py::make_tuple(items, tensors.skipped);
}

}  // namespace

void bind_tracking(py::module_& m) {
  m.def("snapshot_steps", &steps_of, py::arg("schedule"), py::arg("per_decade"),
        py::arg("extra_steps"), py::arg("total"),
        "The snapshot steps of condense train for a schedule (track.snapshots) up to `total`.");

  py::class_<ExternalRun>(m, "ExternalRun", "A run directory for a training done outside condense.")
      .def(py::init([](const std::string& root, const std::string& description,
                       const std::string& schedule, int per_decade,
                       const std::vector<long>& extra_steps, const py::object& threshold,
                       const py::object& negligible, bool with_bias, bool save_cosines,
                       bool overwrite, const std::string& overwrite_option, bool quiet) {
             const RunConfig config = run_config(description, schedule, per_decade, extra_steps,
                                                 threshold, negligible, with_bias, save_cosines);
             return std::make_unique<ExternalRun>(root, config, overwrite, overwrite_option, quiet);
           }),
           py::arg("root"), py::arg("description"), py::arg("schedule"), py::arg("per_decade"),
           py::arg("extra_steps"), py::arg("threshold"), py::arg("negligible"),
           py::arg("with_bias"), py::arg("save_cosines"), py::arg("overwrite"),
           py::arg("overwrite_option"), py::arg("quiet"))
      .def(
          "snapshot",
          [](ExternalRun& run, long step, const py::list& items) {
            std::vector<ExternalTensor> tensors;
            for (const auto& item : items) tensors.push_back(external_tensor(item));
            py::gil_scoped_release release;
            return run.snapshot(step, tensors);
          },
          py::arg("step"), py::arg("tensors"),
          "Saves (name, array, float32) tensors as the snapshot of `step` and measures them; "
          "returns the layers that could not be measured.")
      .def(
          "write_tables",
          [](ExternalRun& run, const py::list& rows, const std::vector<std::string>& extra) {
            std::vector<MetricsRow> table;
            for (const auto& row : rows) table.push_back(metrics_row(row));
            py::gil_scoped_release release;
            run.write_tables(table, extra);
          },
          py::arg("rows"), py::arg("extra_columns"))
      .def(
          "finish",
          [](ExternalRun& run, const std::string& status, const std::string& message,
             const py::object& steps, const py::object& total_steps,
             const py::object& training_seconds, double wall_seconds, long parameters,
             const std::string& data, const std::string& dtype, const std::string& model,
             const py::tuple& final) {
            RunSummary summary;
            summary.status = status_of(status);
            summary.message = message;
            if (!steps.is_none()) summary.steps = steps.cast<long>();
            if (!total_steps.is_none()) summary.total_steps = total_steps.cast<long>();
            if (!training_seconds.is_none())
              summary.training_seconds = training_seconds.cast<double>();
            summary.wall_seconds = wall_seconds;
            summary.parameters = parameters;
            summary.data = data;
            summary.dtype = dtype;
            summary.model = model;
            if (final.size() == 5)
              summary.final = {final[0].cast<long>(), number_or_nan(final[1]),
                               number_or_nan(final[2]), number_or_nan(final[3]),
                               number_or_nan(final[4])};
            py::gil_scoped_release release;
            run.finish(summary);
          },
          py::arg("status"), py::arg("message"), py::arg("steps"), py::arg("total_steps"),
          py::arg("training_seconds"), py::arg("wall_seconds"), py::arg("parameters"),
          py::arg("data"), py::arg("dtype"), py::arg("model"), py::arg("final"))
      .def(
          "describe",
          [](ExternalRun& run, const std::string& description) {
            ExternalTraining external = external_training(description);
            if (!external.given())
              fail_input("the external description needs trained_with (\"pytorch\")");
            run.describe(external);
          },
          py::arg("description"), "Rewrites config.toml with a new [external] description.")
      .def_property_readonly("note", &ExternalRun::note)
      .def_property_readonly("analysis_seconds", &ExternalRun::analysis_seconds)
      .def_property_readonly("steps", &ExternalRun::steps);

  m.def("read_safetensors", &safetensors_file, py::arg("path"),
        "The float tensors of a safetensors file as (name, array) pairs in the order of their "
        "data, and the tensors of other dtypes that were skipped.");

  m.def(
      "report",
      [](const std::string& root, bool quiet) {
        py::gil_scoped_release release;
        return report_run(root, ReportOptions{}, quiet);
      },
      py::arg("root"), py::arg("quiet"),
      "Draws the figures of a run directory and writes its report.html, as condense report "
      "does; False when the figures could not all be drawn.");
}

}  // namespace condense::python
