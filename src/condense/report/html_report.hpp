#pragma once
// RUN/report.html: one self-contained page (figures embedded as data: URIs, script and styles
// inline, no network requests) with the resolved config, a summary table, every figure, and a
// time slider that steps through the cosine heatmap of every snapshot of every tracked layer.
//
// The page's contract, relied on by tests/browser/check_report.py:
//   #step-slider (input range over snapshot indices), #step-value (the step shown),
//   canvas.heatmap[data-layer] (redrawn on input/change), #step-metrics (the step's metrics),
//   body.dataset.ready = "1" once drawn, #report-notes (what is missing), window.__reportErrors.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "condense/report/figures.hpp"
#include "condense/report/run_data.hpp"

namespace condense {

// Text for HTML: & < > " as entities.
std::string html_escape(const std::string& text);

struct HtmlOptions {
  // Bytes of cosine data embedded for the slider. Above it, matrices are block-averaged down to
  // at most 256 kernels a side and then snapshots thinned evenly, with a note on the page.
  std::size_t slider_budget = std::size_t(12) << 20;
};

// The slider's data: which snapshots and what matrix size were kept, and why.
struct SliderPlan {
  std::vector<long> steps;
  long max_side = 0;  // matrices larger than this are block-averaged down to it
  std::vector<std::string> notes;
};
SliderPlan plan_slider(const RunData& run, const HtmlOptions& options);

// Builds the page. `figures` are those drawn in RUN/figures (PNG embedded, PDF linked).
std::string html_report(const RunData& run, const std::vector<DrawnFigure>& figures,
                        const std::filesystem::path& figures_dir,
                        const std::vector<std::string>& notes, const HtmlOptions& options);

}  // namespace condense
