#pragma once
// A run's figures and report.html (report/report.hpp), with what is missing or could not be drawn
// told on stderr: `condense report` and the end of every training run.
#include <filesystem>

#include "condense/report/report.hpp"

namespace condense {

// Returns false when the figures could not all be drawn (the message is printed; the page is
// written all the same). Throws InputError when `run` is not a run directory.
bool report_run(const std::filesystem::path& run, const ReportOptions& options, bool quiet);

}  // namespace condense
