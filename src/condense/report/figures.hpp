#pragma once
// The figures of a run (issue: figures and the HTML report), each a gnuplot script with its PNG
// and PDF in RUN/figures/, the data it plots in RUN/figures/data/:
//   heatmaps_<layer>   cosine heatmaps at chosen steps, kernels in the final clustering's order
//   training           loss and accuracy over steps
//   condensation       mean |cos|, lines, effective rank and RD of every tracked layer
//   alignment          measured alignment with v₁ against the predicted curve, with t_align, t_lin
//   kernels            the first conv layer's kernels at chosen steps, next to v₁
#include <filesystem>
#include <string>
#include <vector>

#include "condense/report/run_data.hpp"

namespace condense {

struct FigureOptions {
  std::vector<long> steps;  // heatmap and kernel steps; empty: chosen from the run
  bool log_x = false;       // steps on a log axis in the curves
  bool pdf = true;          // also write vector PDFs
};

struct DrawnFigure {
  std::string name;     // file stem in figures/
  std::string title;    // a heading
  std::string caption;  // what the figure shows, for the report
};

// Draws every figure the run's files allow. A figure that cannot be drawn is skipped with a note
// in `notes`; if gnuplot itself is missing the first failure is thrown (IoError).
std::vector<DrawnFigure> draw_run_figures(const RunData& run, const std::filesystem::path& figures,
                                          const FigureOptions& options,
                                          std::vector<std::string>& notes);

// The steps shown in heatmap rows when none are asked for: the start, three steps across the
// condensation window (where mean |cos| of `layer` has risen by 20%, 50% and 95% of its total
// rise) and the end; evenly spread steps when the layer does not condense.
std::vector<long> default_heatmap_steps(const RunData& run, const std::string& layer);

// The heatmap panel figure body for one layer at the given steps, plus the data written under
// figures/data. Shared with `condense compare`, which puts several runs' panels side by side.
struct HeatmapPanel {
  std::string title;
  std::string subtitle;        // under the panel, e.g. the layer and step of a compared run
  std::filesystem::path data;  // NPY (float32) of the reordered matrix, relative to figures/
  long skip = 0;               // bytes of the NPY header
  long kernels = 0;
  std::vector<long> order;  // original kernel index of each row
};
HeatmapPanel write_heatmap_panel(const CosineMatrix& matrix, const std::vector<long>& order,
                                 const std::filesystem::path& figures, const std::string& stem,
                                 const std::string& title);
// A figure of panels in one row (or a grid of `columns`) sharing one colorbar.
std::string heatmap_row_body(const std::vector<HeatmapPanel>& panels, int columns,
                             const std::string& figure_title = "");

}  // namespace condense
