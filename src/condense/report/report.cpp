#include "condense/report/report.hpp"

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/rundir/layout.hpp"

namespace condense {

namespace fs = std::filesystem;

ReportResult write_report(const fs::path& root, const ReportOptions& options) {
  const RunData run = load_run(root);
  ReportResult result;
  result.notes = run.notes;
  const RunDirectory dir{root};
  const fs::path figures = dir.figures();
  try {
    result.figures = draw_run_figures(run, figures, options.figures, result.notes);
  } catch (const IoError& e) {
    result.failure = e.what();
    result.notes.push_back(std::string("figures not drawn: ") + e.what());
  }
  result.html = dir.report();
  write_file_atomic(result.html,
                    html_report(run, result.figures, figures, result.notes, options.html));
  return result;
}

}  // namespace condense
