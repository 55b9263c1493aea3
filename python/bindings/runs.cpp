// Run directories from Python (docs/python.md): condense's trainer in process (the train_run of
// `condense train`), and the readers of a run's files, so that Python finds the same numbers, the
// same NaN conventions and the same errors for damaged files as the command line.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "bindings.hpp"
#include "condense/analysis/weight_tensors.hpp"
#include "condense/config/config.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "condense/core/parallel.hpp"
#include "condense/core/stop_signals.hpp"
#include "condense/pipeline/reanalysis.hpp"
#include "condense/pipeline/report_run.hpp"
#include "condense/pipeline/train_run.hpp"
#include "condense/report/run_data.hpp"
#include "condense/rundir/analysis_table.hpp"
#include "condense/rundir/layout.hpp"
#include "condense/rundir/metrics.hpp"
#include "condense/rundir/snapshot_index.hpp"
#include "condense/rundir/summary.hpp"

namespace condense::python {

namespace fs = std::filesystem;

namespace {

template <class T, class Row, class Field>
py::array_t<T> column(const std::vector<Row>& rows, Field field) {
  py::array_t<T> values(py::ssize_t(rows.size()));
  T* out = values.mutable_data();
  for (const Row& row : rows) *out++ = T(field(row));
  return values;
}

// RUN/metrics.csv as columns: step (int64) and the numbers (float64, NaN where not measured).
py::dict read_metrics_columns(const std::string& path) {
  const std::vector<MetricsRow> rows = read_metrics(path);
  py::dict columns;
  columns["step"] = column<std::int64_t>(rows, [](const MetricsRow& r) { return r.step; });
  columns["epoch"] = column<double>(rows, [](const MetricsRow& r) { return r.epoch; });
  columns["time_s"] = column<double>(rows, [](const MetricsRow& r) { return r.time_s; });
  columns["lr"] = column<double>(rows, [](const MetricsRow& r) { return r.lr; });
  columns["train_loss"] = column<double>(rows, [](const MetricsRow& r) { return r.train_loss; });
  columns["train_acc"] = column<double>(rows, [](const MetricsRow& r) { return r.train_acc; });
  columns["test_loss"] = column<double>(rows, [](const MetricsRow& r) { return r.test_loss; });
  columns["test_acc"] = column<double>(rows, [](const MetricsRow& r) { return r.test_acc; });
  return columns;
}

// RUN/analysis.csv as columns: step and the counts (int64), layer (str), the measures (float64,
// NaN where not defined).
py::dict read_analysis_columns(const std::string& path) {
  const std::vector<AnalysisRow> rows = read_analysis_csv(path);
  using Row = AnalysisRow;
  py::dict columns;
  columns["step"] = column<std::int64_t>(rows, [](const Row& r) { return r.step; });
  py::list layers;
  for (const Row& r : rows) layers.append(r.layer);
  columns["layer"] = layers;
  columns["mean_abs_cos"] = column<double>(rows, [](const Row& r) { return r.mean_abs_cos; });
  columns["n_orientations"] =
      column<std::int64_t>(rows, [](const Row& r) { return r.n_orientations; });
  columns["n_lines"] = column<std::int64_t>(rows, [](const Row& r) { return r.n_lines; });
  columns["n_negligible"] = column<std::int64_t>(rows, [](const Row& r) { return r.n_negligible; });
  columns["effective_rank"] = column<double>(rows, [](const Row& r) { return r.effective_rank; });
  columns["norm"] = column<double>(rows, [](const Row& r) { return r.norm; });
  columns["rd"] = column<double>(rows, [](const Row& r) { return r.rd; });
  columns["align_v1"] = column<double>(rows, [](const Row& r) { return r.align_v1; });
  columns["align_v1_min"] = column<double>(rows, [](const Row& r) { return r.align_v1_min; });
  return columns;
}

std::vector<long> read_snapshot_steps(const std::string& root) {
  std::vector<long> steps;
  for (const SnapshotEntry& entry : read_snapshot_index(RunDirectory{root}.snapshots()))
    steps.push_back(entry.step);
  return steps;
}

// (status, the whole file) of RUN/summary.json, read by the typed reader.
py::tuple read_summary_file(const std::string& path) {
  const RunSummary summary = read_summary(path);
  return py::make_tuple(status_name(summary.status), to_python(summary.json));
}

// An NPY array in the dtype it was stored in: the library reads every value into a double, which
// holds a float16, float32 or float64 exactly, and integers up to 2^53 (kernel orders, labels).
py::array numpy_array(const NpyArray& array) {
  std::vector<py::ssize_t> shape(array.shape.begin(), array.shape.end());
  py::array_t<double> values(shape);
  std::copy(array.values.begin(), array.values.end(), values.mutable_data());
  if (array.type == NpyType::float64) return values;
  return values.attr("astype")(npy_type_name(array.type));
}

py::array read_npy_file(const std::string& path) {
  return numpy_array(read_npy(path));
}

// Every parameter of a snapshot folder: (name, array) in natural order (conv2 before conv10).
py::list read_snapshot_folder(const std::string& folder) {
  std::error_code error;
  if (!fs::is_directory(folder, error)) fail_input("{} is not a snapshot folder", folder);
  std::vector<fs::path> files;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error))
    if (it->path().extension() == ".npy") files.push_back(it->path());
  if (error) fail_io("cannot list {}: {}", folder, error.message());
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    return natural_less(a.filename().string(), b.filename().string());
  });
  py::list parameters;
  for (const fs::path& file : files)
    parameters.append(py::make_tuple(file.stem().string(), numpy_array(read_npy(file))));
  return parameters;
}

// (cosine matrix, cluster order) of `layer` at `step`, checked as the report checks them: a square
// matrix, an order that is a permutation of its kernels (or 0..M-1 when the run has none).
py::tuple read_cosines(const std::string& root, long step, const std::string& layer) {
  const fs::path matrix = RunDirectory{root}.cosines(step) / (layer + ".npy");
  std::error_code error;
  if (!fs::exists(matrix, error))
    fail_io("cannot read {}: No such file or directory", matrix.string());
  RunData run;
  run.root = root;
  std::vector<std::string> notes;
  const std::optional<CosineMatrix> cosines = load_cosines(run, step, layer, &notes);
  if (!cosines) throw InputError(notes.empty() ? matrix.string() + ": unreadable" : notes.back());
  const auto M = py::ssize_t(cosines->cosines.rows());
  py::array_t<double> values({M, M});
  std::copy(cosines->cosines.data(), cosines->cosines.data() + M * M, values.mutable_data());
  py::array_t<std::int64_t> order(M);
  std::copy(cosines->order.begin(), cosines->order.end(), order.mutable_data());
  return py::make_tuple(values, order);
}

// train(config_path, config_text, origin, overrides, out, overwrite, resume, quiet, report):
// `condense train` in process. The config is a file (config_path), TOML text named `origin`, or,
// resuming with neither, the run's own config.toml; `overrides` are "key=value" as --set gives
// them. Returns (status, the signal that asked to stop or 0).
py::tuple train(const std::string& config_path, const std::optional<std::string>& config_text,
                const std::string& origin, const std::vector<std::string>& overrides,
                const std::string& out, bool overwrite, bool resume, bool quiet, bool report) {
  // The library's handlers take SIGINT and SIGTERM for the whole call, not only while the
  // trainer's loop runs: a Ctrl-C while the data loads still stops at the first step with the
  // checkpoint saved. Python's own handlers come back when the call ends.
  StopSignals signals;
  RunStatus status = RunStatus::completed;
  {
    py::gil_scoped_release release;
    if (resume && overwrite)
      fail_input(
          "overwrite=True and resume=True contradict each other: resume continues {}, overwrite "
          "would replace it",
          out);
    const RunDirectory run{out};
    LoadedConfig loaded;
    if (resume && !fs::exists(run.config()))
      fail_input("{} is not a run directory: {} is missing", out, run.config().string());
    if (!config_path.empty())
      loaded = load_config_and_warnings(config_path, overrides);
    else if (config_text)
      loaded = load_config_text_and_warnings(*config_text, origin, {}, {}, overrides);
    else if (resume)
      loaded =
          load_run_config_and_warnings(read_file(run.config()), run.config().string(), overrides);
    else
      fail_input("train needs a config (a dict or a TOML file), or resume=True to continue a run");
    if (!quiet)
      for (const auto& warning : loaded.warnings)
        fmt::print(stderr, "condense: warning: {}\n", warning);
    TrainRequest request;
    request.root = out;
    request.resume = resume;
    request.overwrite = overwrite;
    request.quiet = quiet;
    request.report = report;
    status = train_run(loaded.config, request);
  }
  return py::make_tuple(status_name(status), signals.requested());
}

// `condense report RUN`: true when every figure was drawn (else the reason is printed on stderr
// and report.html is written without them).
bool report(const std::string& root, const std::vector<long>& steps, bool log_x, bool pdf,
            bool quiet) {
  for (long s : steps)
    if (s < 0) fail_input("steps: {} is negative, expected optimizer steps ≥ 0", s);
  ReportOptions options;
  options.figures.steps = steps;
  options.figures.log_x = log_x;
  options.figures.pdf = pdf;
  py::gil_scoped_release release;
  return report_run(root, options, quiet);
}

// `condense analyze RUN`: RUN/analysis.csv and RUN/cosines/ written again from the snapshots.
// Returns the settings used (threshold, negligible, with_bias) and the number of snapshots.
py::dict analyze(const std::string& root, const std::optional<double>& threshold,
                 const std::optional<double>& negligible, bool with_bias, bool quiet) {
  MeasureOverrides overrides;
  overrides.threshold = threshold;
  overrides.negligible = negligible;
  overrides.with_bias = with_bias;
  Reanalysis result;
  {
    py::gil_scoped_release release;
    result = reanalyze_run(root, overrides, quiet);
  }
  py::dict settings;
  settings["snapshots"] = result.snapshots;
  settings["threshold"] = result.options.threshold;
  settings["negligible"] = result.options.negligible;
  settings["with_bias"] = result.options.with_bias;
  return settings;
}

}  // namespace

void bind_runs(py::module_& m) {
  m.def("read_metrics", &read_metrics_columns, py::arg("path"),
        "RUN/metrics.csv as columns (numpy arrays), NaN where a value was not measured.");
  m.def("read_analysis", &read_analysis_columns, py::arg("path"),
        "RUN/analysis.csv as columns (numpy arrays; layer: a list of names).");
  m.def("read_snapshot_steps", &read_snapshot_steps, py::arg("root"),
        "The steps of RUN/snapshots/index.csv, increasing.");
  m.def("read_summary", &read_summary_file, py::arg("path"),
        "(status, the whole file) of RUN/summary.json, every field type-checked.");
  m.def("read_npy", &read_npy_file, py::arg("path"),
        "An NPY file, checked as condense checks it, in the dtype it was stored in.");
  m.def("read_snapshot", &read_snapshot_folder, py::arg("folder"),
        "(name, array) of every .npy file of a snapshot folder, in natural order.");
  m.def("read_cosines", &read_cosines, py::arg("root"), py::arg("step"), py::arg("layer"),
        "(cosine matrix, cluster order) of a layer at a snapshot step.");
  m.def("train", &train, py::arg("config_path"), py::arg("config_text"), py::arg("origin"),
        py::arg("overrides"), py::arg("out"), py::arg("overwrite"), py::arg("resume"),
        py::arg("quiet"), py::arg("report"),
        "Trains a run as condense train does; returns (status, stopping signal or 0).");
  m.def("report", &report, py::arg("root"), py::arg("steps"), py::arg("log_x"), py::arg("pdf"),
        py::arg("quiet"), "Draws a run's figures and report.html as condense report does.");
  m.def("analyze", &analyze, py::arg("root"), py::arg("threshold"), py::arg("negligible"),
        py::arg("with_bias"), py::arg("quiet"),
        "Measures every snapshot of a run again, as condense analyze RUN does.");
}

}  // namespace condense::python
