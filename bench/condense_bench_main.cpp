// condense-bench: the `bench` command of condense on its own, so that benchmarks build without the
// rest of the command line. `condense-bench bench --workload W1` = `condense bench --workload W1`.
#include <iostream>

#include <CLI/CLI.hpp>

#include "condense/cli/bench_command.hpp"
#include "condense/core/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"condense-bench: training-step benchmarks of condense"};
  condense::add_bench_command(app);
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const condense::InputError& e) {
    std::cerr << "condense-bench: " << e.what() << "\n";
    return 2;
  } catch (const condense::DivergenceError& e) {
    std::cerr << "condense-bench: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
