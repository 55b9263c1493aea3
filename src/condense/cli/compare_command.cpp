// condense compare RUN_A RUN_B ... [--metric align_v1] [--layer conv1] [--labels a,b,...]
//                  [--out DIR] [--log-x] [--no-pdf]
//
// Overlays one metric of several runs in one figure and draws their final cosine heatmaps side
// by side (report/compare.hpp).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "condense/cli/commands.hpp"
#include "condense/report/compare.hpp"

namespace condense {

void add_compare_command(CLI::App& app) {
  auto options = std::make_shared<CompareOptions>();
  auto runs = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  auto out = std::make_shared<std::string>("comparison");
  CLI::App* command = app.add_subcommand(
      "compare", "Overlay a metric of several runs in one figure, with their final heatmaps");
  command->add_option("RUNS", *runs, "Run directories")->required();
  command
      ->add_option("--metric", options->metric,
                   fmt::format("What to compare: {}", fmt::join(comparable_metrics(), ", ")))
      ->capture_default_str();
  command->add_option("--layer", options->layer,
                      "Layer of an analysis metric (default: the layer aligned with v1, else the "
                      "first tracked layer)");
  command->add_option("--labels", options->labels, "One label per run, comma-separated")
      ->delimiter(',');
  command->add_option("--out", *out, "Output folder")->capture_default_str();
  command->add_flag("--log-x", options->log_x, "Steps on a log axis");
  command->add_flag(
      "--no-pdf", [options](std::int64_t) { options->pdf = false; }, "PNG only");
  command->add_flag("--quiet", *quiet, "Print nothing but errors");
  command->callback([options, runs, quiet, out] {
    options->runs.assign(runs->begin(), runs->end());
    options->out = *out;
    const CompareResult result = write_comparison(*options);
    if (!*quiet) {
      for (const auto& note : result.notes) fmt::print(stderr, "condense: note: {}\n", note);
      for (const auto& figure : result.figures)
        fmt::print(stderr, "condense: wrote {}\n", (options->out / (figure + ".png")).string());
    }
  });
}

}  // namespace condense
