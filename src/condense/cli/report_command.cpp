// condense report RUN_DIR [--steps 0,50,100] [--log-x] [--no-pdf] [--quiet]
//
// Draws RUN/figures/ (PNG, PDF and the gnuplot script of each) and writes RUN/report.html, from
// the run directory's files alone, so that any run, old or interrupted, gets its report.
#include <fmt/format.h>

#include <filesystem>

#include "condense/cli/commands.hpp"
#include "condense/core/error.hpp"
#include "condense/pipeline/report_run.hpp"

namespace condense {

namespace {

struct ReportCommandOptions {
  std::string run;
  std::vector<long> steps;
  bool log_x = false, no_pdf = false, quiet = false;
};

}  // namespace

void add_report_command(CLI::App& app) {
  auto options = std::make_shared<ReportCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "report", "Draw a run's figures (PNG, PDF, gnuplot scripts) and write RUN/report.html");
  command->add_option("RUN", options->run, "The run directory")->required();
  command
      ->add_option("--steps", options->steps,
                   "Steps of the heatmap panels and kernel images (default: start, three "
                   "across the condensation window, end)")
      ->delimiter(',');
  command->add_flag("--log-x", options->log_x, "Steps on a log axis in the curves");
  command->add_flag("--no-pdf", options->no_pdf, "PNG only (faster)");
  command->add_flag("--quiet", options->quiet, "Print nothing but errors");
  command->callback([options] {
    for (long s : options->steps)
      if (s < 0) fail_input("--steps: {} is negative, expected optimizer steps ≥ 0", s);
    ReportOptions report;
    report.figures.steps = options->steps;
    report.figures.log_x = options->log_x;
    report.figures.pdf = !options->no_pdf;
    if (!report_run(options->run, report, options->quiet)) throw CommandExit{kExitBadInput};
  });
}

}  // namespace condense
