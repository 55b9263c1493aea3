#pragma once
// `condense report RUN`: RUN/figures/ and RUN/report.html from the files of a run directory.
#include <filesystem>
#include <string>
#include <vector>

#include "condense/report/figures.hpp"
#include "condense/report/html_report.hpp"

namespace condense {

struct ReportOptions {
  FigureOptions figures;
  HtmlOptions html;
};

struct ReportResult {
  std::filesystem::path html;
  std::vector<DrawnFigure> figures;
  std::vector<std::string> notes;  // what is missing, shown on the page too
  std::string failure;             // why figures could not be drawn (gnuplot missing), or ""
};

// Draws the figures and writes report.html. The page is written even when figures fail, so that
// it shows everything that exists; `failure` then says why. Throws InputError when RUN is not a
// run directory.
ReportResult write_report(const std::filesystem::path& run, const ReportOptions& options);

}  // namespace condense
