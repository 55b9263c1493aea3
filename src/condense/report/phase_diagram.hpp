#pragma once
// A phase diagram: a grid of cells over two swept settings, each coloured by a measure of the runs
// there (e.g. RD or the peak mean |cos| over init exponent γ and learning rate), drawn by gnuplot
// as PNG and PDF with its script (report/gnuplot.hpp).
#include <filesystem>
#include <string>
#include <vector>

namespace condense {

struct PhaseDiagram {
  std::string name;   // file stem: FIGURES/<name>.{gp,png,pdf}, data in FIGURES/data/<name>.dat
  std::string title;  // above the plot
  std::string x_label, y_label, color_label;
  std::vector<std::string> x_ticks, y_ticks;  // one per column / row; y_ticks empty: one row
  std::vector<double> values;                 // row-major [row][column]; NaN: no value
  std::vector<std::string> marks;             // per cell: "" or a short text for cells without
                                              // a value (e.g. "×" where every run diverged)
  bool log_color = false;
  bool cell_labels = true;  // print each cell's value in it
  struct Line {
    char axis = 'x';  // a vertical ('x') or horizontal ('y') line
    double at = 0;    // in cell coordinates: 0 is the centre of the first column or row
    std::string label;
  };
  std::vector<Line> lines;
  std::string caption;  // below the plot (what a cell averages, what × means)
};

// Writes FIGURES/<name>.gp and data/<name>.dat and draws the PNG (and the PDF when `pdf`).
// Throws IoError if gnuplot fails.
void draw_phase_diagram(const std::filesystem::path& figures, const PhaseDiagram& diagram, bool pdf);

// Where `value` falls on an axis with these (sorted, numeric) tick values, in cell coordinates:
// linear (or, when `log`, logarithmic) interpolation between neighbouring cells; NaN outside.
double cell_coordinate(const std::vector<double>& ticks, double value, bool log);

}  // namespace condense
