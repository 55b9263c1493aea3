#include "condense/report/phase_diagram.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/report/gnuplot.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

// Viridis, from dark blue (low) to yellow (high): readable in grey and for colour-blind readers.
constexpr const char* kViridis =
    "set palette defined (0 '#440154', 0.125 '#472d7b', 0.25 '#3b528b', 0.375 '#2c728e', "
    "0.5 '#21918c', 0.625 '#28ae80', 0.75 '#5ec962', 0.875 '#addc30', 1 '#fde725')\n";

std::string tick_list(const std::vector<std::string>& ticks) {
  std::string list;
  for (std::size_t i = 0; i < ticks.size(); ++i)
    list += fmt::format("{}{} {}", i ? ", " : "", gnuplot_quote(ticks[i]), i);
  return "(" + list + ")";
}

std::string cell_text(double v) {
  if (!std::isfinite(v)) return "";
  // At most five characters, to fit a cell: 13.3, 0.264, 0.029, 5e-04, 2e+05.
  const double a = std::fabs(v);
  if (a == 0) return "0";
  if (a >= 1e4 || a < 1e-3) return fmt::format("{:.0e}", v);
  return a < 0.1 ? fmt::format("{:.2g}", v) : fmt::format("{:.3g}", v);
}

}  // namespace

double cell_coordinate(const std::vector<double>& ticks, double value, bool log) {
  if (ticks.empty() || !std::isfinite(value)) return NAN;
  if (ticks.size() == 1) return value == ticks[0] ? 0.0 : NAN;
  const auto f = [log](double v) { return log ? std::log(v) : v; };
  if (log && value <= 0) return NAN;
  for (std::size_t i = 0; i + 1 < ticks.size(); ++i) {
    const double a = f(ticks[i]), b = f(ticks[i + 1]), v = f(value);
    if ((v - a) * (v - b) <= 0 && a != b) return double(i) + (v - a) / (b - a);
  }
  return NAN;
}

void draw_phase_diagram(const fs::path& figures, const PhaseDiagram& d, bool pdf) {
  const std::size_t nx = d.x_ticks.size(), ny = std::max<std::size_t>(1, d.y_ticks.size());
  if (nx == 0 || d.values.size() != nx * ny)
    fail_input("phase diagram {}: {} values for {}×{} cells", d.name, d.values.size(), nx, ny);

  // Colour range over the finite values (positive ones for a log scale).
  double lo = INFINITY, hi = -INFINITY;
  for (double v : d.values)
    if (std::isfinite(v) && (!d.log_color || v > 0)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  const bool any = lo <= hi;
  if (any && lo == hi) {
    if (d.log_color) {
      lo /= 2;
      hi *= 2;
    } else {
      lo -= 0.5;
      hi += 0.5;
    }
  }
  const auto position = [&](double v) {
    if (!any || !std::isfinite(v)) return 0.0;
    return d.log_color ? (std::log(v) - std::log(lo)) / (std::log(hi) - std::log(lo))
                       : (v - lo) / (hi - lo);
  };

  // Data: column row value label text-colour; cells without a value have NaN (left blank by
  // `with image`) and their mark as label.
  std::string data = "# x y value label textcolor\n";
  for (std::size_t r = 0; r < ny; ++r) {
    for (std::size_t c = 0; c < nx; ++c) {
      const double v = d.values[r * nx + c];
      const bool shown = std::isfinite(v) && (!d.log_color || v > 0);
      std::string label = shown ? (d.cell_labels ? cell_text(v) : "") : "";
      if (!shown && r * nx + c < d.marks.size()) label = d.marks[r * nx + c];
      // White text on the dark half of viridis, black on the light half.
      const int colour = shown && position(v) < 0.55 ? 0xffffff : 0x000000;
      data += fmt::format("{} {} {} \"{}\" {}\n", c, r, shown ? fmt::format("{:.9g}", v) : "NaN",
                          label, colour);
    }
    data += "\n";
  }
  make_directories(figures / "data");
  write_file_atomic(figures / "data" / (d.name + ".dat"), data);

  const double width = std::clamp(2.4 + 0.6 * double(nx), 4.5, 10.0);
  const double height = std::clamp(1.5 + 0.42 * double(ny), 2.6, 7.0) + (d.caption.empty() ? 0 : 0.3);
  std::string body = kViridis;
  body += "set grid noxtics noytics\nset tics scale 0\nunset key\nset rmargin 13\n";
  body += fmt::format("set title {} noenhanced offset 0, 0.6\nset tmargin 3.2\n", gnuplot_quote(d.title));
  body += fmt::format("set xrange [-0.5:{}]\nset yrange [-0.5:{}]\n", double(nx) - 0.5,
                      double(ny) - 0.5);
  body += fmt::format("set xtics {}{}\n", tick_list(d.x_ticks), nx > 8 ? " rotate by 45 right" : "");
  if (d.y_ticks.empty()) body += "unset ytics\n";
  else body += fmt::format("set ytics {}\n", tick_list(d.y_ticks));
  body += fmt::format("set xlabel {} noenhanced\nset ylabel {} noenhanced\nset cblabel {} noenhanced\n",
                      gnuplot_quote(d.x_label), gnuplot_quote(d.y_label),
                      gnuplot_quote(d.color_label));
  if (any) body += fmt::format("set cbrange [{:.9g}:{:.9g}]\n", lo, hi);
  if (d.log_color) body += "set logscale cb\nset format cb '10^{%L}'\n";
  // Cells without a value are light grey.
  body += "set object 1 rectangle from graph 0, graph 0 to graph 1, graph 1 behind "
          "fillcolor rgb '#d9d9d9' fillstyle solid noborder\n";
  if (!d.caption.empty())
    body += fmt::format("set bmargin {}\nset label 100 {} noenhanced at screen 0.01, screen 0.02 "
                        "left font ',7'\n",
                        nx > 8 ? 6 : 5, gnuplot_quote(d.caption));
  // Marks are drawn between the cells and their labels, so that they hide no value.
  std::string lines_data;
  int label = 1;
  for (const auto& line : d.lines) {
    if (!std::isfinite(line.at)) continue;
    if (line.axis == 'x') {
      lines_data += fmt::format("{0:.6g} -0.5\n{0:.6g} {1}\n\n", line.at, double(ny) - 0.5);
      if (!line.label.empty())
        body += fmt::format("set label {} {} noenhanced at {:.6g}, graph 1.0 offset 0, 0.45 center "
                            "front tc rgb '#e41a1c' font ',8'\n",
                            label++, gnuplot_quote(line.label), line.at);
    } else {
      lines_data += fmt::format("-0.5 {0:.6g}\n{1} {0:.6g}\n\n", line.at, double(nx) - 0.5);
      if (!line.label.empty())
        body += fmt::format("set label {} {} noenhanced at graph 1.0, first {:.6g} offset 0.5, 0 "
                            "left front tc rgb '#e41a1c' font ',8'\n",
                            label++, gnuplot_quote(line.label), line.at);
    }
  }
  const std::string file = gnuplot_quote("data/" + d.name + ".dat");
  body += fmt::format("plot {0} using 1:2:3 with image pixels, \\\n", file);
  if (!lines_data.empty()) {
    write_file_atomic(figures / "data" / (d.name + "_marks.dat"), lines_data);
    body += fmt::format("     {} using 1:2 with lines lw 2.5 dt 2 lc rgb '#e41a1c', \\\n",
                        gnuplot_quote("data/" + d.name + "_marks.dat"));
  }
  body += fmt::format("     {} using 1:2:4:5 with labels tc rgb variable font ',7'\n", file);
  render_figure(figures, {d.name, d.title, width, height, body}, pdf);
}

}  // namespace condense
