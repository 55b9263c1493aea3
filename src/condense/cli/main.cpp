// condense: train small networks, watch their kernels condense, compare with the theory.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "condense/cli/bench_command.hpp"
#include "condense/cli/commands.hpp"
#include "condense/cli/exit_codes.hpp"

int main(int argc, char** argv) {
  CLI::App app{"condense: train small networks and study the condensation of their kernels"};
  app.set_version_flag("--version", std::string("condense ") + CONDENSE_VERSION);
  app.require_subcommand(1);
  condense::add_train_command(app);
  condense::add_config_command(app);
  condense::add_predict_command(app);
  condense::add_analyze_command(app);
  condense::add_report_command(app);
  condense::add_compare_command(app);
  condense::add_run_command(app);
  condense::add_sweep_command(app);
  condense::add_sweep_job_command(app);
  condense::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : condense::kExitBadInput;
  } catch (...) {
    return condense::exit_code_for(std::current_exception(), stderr);
  }
  return 0;
}
