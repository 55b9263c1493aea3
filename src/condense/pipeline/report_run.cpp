#include "condense/pipeline/report_run.hpp"

#include <fmt/format.h>

namespace condense {

bool report_run(const std::filesystem::path& run, const ReportOptions& options, bool quiet) {
  const ReportResult result = write_report(run, options);
  if (!quiet) {
    for (const auto& note : result.notes) fmt::print(stderr, "condense: note: {}\n", note);
    fmt::print(stderr, "condense: report {} ({} figures in {})\n", result.html.string(),
               result.figures.size(), (run / "figures").string());
  }
  if (result.failure.empty()) return true;
  fmt::print(stderr, "condense: error: {}\n", result.failure);
  return false;
}

}  // namespace condense
