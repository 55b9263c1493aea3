#pragma once
// Figures are drawn by gnuplot with its cairo terminals. Each figure is a gnuplot script kept
// next to its PNG and PDF (FIGURES/<name>.gp), reading data files relative to its own folder, so
// that a user can restyle a figure and redraw it with `gnuplot <name>.gp`.
#include <filesystem>
#include <string>

namespace condense {

struct GnuplotFigure {
  std::string name;                    // file stem: <name>.gp, <name>.png, <name>.pdf
  std::string title;                   // one line, for the script's header and the report
  double width_in = 7, height_in = 3;  // paper size in inches; PNG at kPngDpi
  std::string body;                    // gnuplot commands after the terminal is set
};

inline constexpr double kPngDpi = 150;

// Shared style: the fixed diverging palette for cosines in [−1, 1] and line colours.
std::string gnuplot_style();

// Quotes a string for a gnuplot script (single quotes, '' inside).
std::string gnuplot_quote(const std::string& text);

// Writes FIGURES/<name>.gp and draws <name>.png and, when `pdf`, <name>.pdf (each to a temporary
// file renamed into place). Throws IoError naming the script and gnuplot's own message if gnuplot
// is missing or fails. The gnuplot executable is $CONDENSE_GNUPLOT, else `gnuplot` on PATH.
void render_figure(const std::filesystem::path& figures, const GnuplotFigure& figure, bool pdf);

// Whether gnuplot can be run, and its version line (for summaries); empty when it cannot.
std::string gnuplot_version();

}  // namespace condense
