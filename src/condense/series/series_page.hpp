#pragma once
// The page of a series of runs: an experiment's index.html and a sweep's report.html. A title and
// what the series shows, notes, sections of figures, and the table of runs with a link to each
// run's own report.
#include <filesystem>
#include <string>
#include <vector>

#include "condense/series/run_table.hpp"

namespace condense {

struct PageImage {
  std::filesystem::path image;  // relative to the page
  std::filesystem::path link;   // what a click opens (a PDF); empty: nothing
  std::string alt;
};

struct PageFigures {
  std::string heading;  // a <h3>, or none
  std::vector<PageImage> images;
};

struct PageSection {
  std::string heading;  // a <h2>
  std::vector<PageFigures> figures;
};

struct SeriesPage {
  std::string title, description;
  std::string intro_html;                 // a paragraph (already HTML): the file, where numbers are
  std::vector<std::string> notes;         // what is missing or could not be drawn
  std::vector<PageSection> before_table;  // e.g. the phase diagrams
  std::vector<std::string> columns;       // of the table of runs (the "run" column links)
  std::vector<RunRow> rows;
  bool shade_unfinished = false;         // rows whose status is not "completed" stand out
  std::vector<PageSection> after_table;  // e.g. comparisons, each run's heatmaps
};

// The HTML of the page; a run's name links to RUN/report.html when `out`/RUN/report.html exists.
std::string series_page_html(const SeriesPage& page, const std::filesystem::path& out);

}  // namespace condense
