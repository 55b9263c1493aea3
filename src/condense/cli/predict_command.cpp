// condense predict [CONFIG.toml] [--set key=value]... [--out DIR]
// The prediction of docs/science.md §2 for the configured two-layer model and data, without
// training: DIR/prediction.json and DIR/v1.npy (docs/theory.md).
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "condense/cli/commands.hpp"
#include "condense/config/config.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/pipeline/run_prediction.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

struct PredictOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string out;
  bool quiet = false;
};

void run_predict(const PredictOptions& options) {
  // Without a config file every key keeps its default (condense config lists them).
  const RunConfig config = load_config(options.config_path, options.overrides);
  const std::string name =
      options.config_path.empty() ? "default" : fs::path(options.config_path).stem().string();
  const fs::path out =
      !options.out.empty() ? fs::path(options.out) : fs::path("predictions") / name;
  const Data data = load_data(config.data, config.seed);
  const RunPrediction outcome = predict_run(config, data);
  if (!outcome.prediction) throw InputError(outcome.why_not);
  const Prediction& prediction = *outcome.prediction;
  make_directories(out);
  write_prediction_files(prediction, out);
  if (!options.quiet) {
    fmt::print("{}", prediction_summary(prediction));
    fmt::print("wrote {} and {}\n", (out / "prediction.json").string(), (out / "v1.npy").string());
  }
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto options = std::make_shared<PredictOptions>();
  auto* command = app.add_subcommand(
      "predict",
      "The theory's prediction (docs/science.md §2) for a two-layer model and its data: the "
      "direction v1 the kernels turn to, and the time scales (docs/theory.md)");
  command->add_option("CONFIG", options->config_path, "The run's TOML config (default: defaults)");
  command
      ->add_option("--set", options->overrides, "Override a key (repeatable): --set init.std=1e-8")
      ->allow_extra_args(false);
  command->add_option("--out", options->out, "Output folder (default: predictions/<config name>)");
  command->add_flag("--quiet", options->quiet, "Print nothing on success");
  command->callback([options] { run_predict(*options); });
}

}  // namespace condense
