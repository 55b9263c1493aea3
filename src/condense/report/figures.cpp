#include "condense/report/figures.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "condense/report/gnuplot.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

std::string csv_number(double value) {
  return std::isfinite(value) ? fmt::format("{:.8g}", value) : std::string();
}

// Size in bytes of an NPY file's header, so gnuplot can skip it and read the raw array.
long npy_header_bytes(const fs::path& path) {
  const std::string bytes = read_file(path);
  if (bytes.size() < 10) fail_io("{}: too short for an NPY file", path.string());
  const unsigned length = unsigned(static_cast<unsigned char>(bytes[8])) |
                          (unsigned(static_cast<unsigned char>(bytes[9])) << 8);
  return 10 + long(length);
}

// Tic labels along a kernel axis: every kernel's own index for small layers, else automatic.
std::string kernel_tics(const std::vector<long>& order, const char* axis) {
  if (order.size() > 32) return fmt::format("set {0}tics autofreq\nset {0}tics font ',5'\n", axis);
  // Every kernel's own index when they fit, else every second or fourth; side by side on the x
  // axis of a small panel, at most five.
  const std::size_t every = order.size() <= 10               ? 1
                            : axis == std::string_view("x") ? (order.size() + 4) / 5
                            : order.size() <= 20 ? 2
                                                 : 4;
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < order.size(); i += every)
    labels.push_back(fmt::format("'{}' {}", order[i], i));
  return fmt::format("set {}tics ({}) font ',5' scale 0\n", axis, fmt::join(labels, ", "));
}

std::string x_axis(const FigureOptions& options) {
  return options.log_x ? "set logscale x\nset xlabel 'step (log; step 0 at 0.5)'\n"
                         "set xrange [0.5:*]\nset autoscale xfixmax\n"
                       : "unset logscale x\nset xlabel 'step'\nset autoscale xfix\n";
}

// x value of a step: log axes cannot show step 0, which is drawn at 0.5 and labelled so.
std::string step_column(const FigureOptions& options) {
  return options.log_x ? "($1 > 0 ? $1 : 0.5)" : "1";
}

// Writes figures/data/<layer>.csv: the layer's rows of analysis.csv.
fs::path write_layer_table(const RunData& run, const std::string& layer, const fs::path& figures) {
  std::string text =
      "step,mean_abs_cos,n_orientations,n_lines,n_negligible,effective_rank,norm,rd,"
      "align_v1,align_v1_min\n";
  for (const auto& r : run.rows_of(layer))
    text += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", r.step, csv_number(r.mean_abs_cos),
                        r.n_orientations, r.n_lines, r.n_negligible, csv_number(r.effective_rank),
                        csv_number(r.norm), csv_number(r.rd), csv_number(r.align_v1),
                        csv_number(r.align_v1_min));
  const fs::path relative = fs::path("data") / ("analysis_" + layer + ".csv");
  write_file_atomic(figures / relative, text);
  return relative;
}

std::vector<std::string> curve_layers(const RunData& run) {
  std::vector<std::string> layers;
  for (const auto& r : run.analysis)
    if (std::isfinite(r.mean_abs_cos) &&
        std::find(layers.begin(), layers.end(), r.layer) == layers.end())
      layers.push_back(r.layer);
  return layers;
}

std::optional<DrawnFigure> draw_training(const RunData& run, const fs::path& figures,
                                         const FigureOptions& options,
                                         std::vector<std::string>& notes) {
  if (run.metrics.empty()) return std::nullopt;
  std::string train = "step,train_loss,train_acc\n", test = "step,test_loss,test_acc\n";
  bool has_acc = false, has_test = false, has_train = false;
  for (const auto& m : run.metrics) {
    train += fmt::format("{},{},{}\n", m.step, csv_number(m.train_loss), csv_number(m.train_acc));
    if (std::isfinite(m.test_loss)) {
      test += fmt::format("{},{},{}\n", m.step, csv_number(m.test_loss), csv_number(m.test_acc));
      has_test = true;
    }
    has_train = has_train || std::isfinite(m.train_loss);
    has_acc = has_acc || std::isfinite(m.train_acc);
  }
  // A run trained elsewhere may record no loss at all (the tracker was given none): nothing to
  // draw, and gnuplot would fail on an empty plot.
  if (!has_train && !has_test) {
    notes.push_back("metrics.csv holds no loss: no training figure");
    return std::nullopt;
  }
  write_file_atomic(figures / "data" / "train.csv", train);
  write_file_atomic(figures / "data" / "test.csv", test);
  const std::string x = step_column(options);
  std::string body =
      "set datafile separator comma\n" + x_axis(options) +
      fmt::format("set multiplot layout 1,{} margins 0.08,0.98,0.24,0.84 spacing 0.1,0\n",
                  has_acc ? 2 : 1) +
      "set title 'training loss'\nset logscale y\nset format y '10^{%T}'\n"
      "set key top right font ',7'\n";
  std::vector<std::string> losses;
  if (has_train)
    losses.push_back(fmt::format("'data/train.csv' using {}:2 with lines lt 1 title 'train'", x));
  if (has_test)
    losses.push_back(
        fmt::format("'data/test.csv' using {}:2 with linespoints lt 2 title 'test'", x));
  body += fmt::format("plot {}\n", fmt::join(losses, ", "));
  if (has_acc) {
    body +=
        "unset logscale y\nset format y '%g'\nset title 'accuracy'\nset yrange [0:1]\n"
        "set key bottom right\n";
    body += fmt::format("plot 'data/train.csv' using {x}:3 with lines lt 1 title 'train'",
                        fmt::arg("x", x));
    if (has_test)
      body += fmt::format(", 'data/test.csv' using {x}:3 with linespoints lt 2 title 'test'",
                          fmt::arg("x", x));
    body += "\n";
  }
  body += "unset multiplot\n";
  render_figure(figures, {"training", "Training loss and accuracy", 7, 2.4, body}, options.pdf);
  return DrawnFigure{"training", "Training",
                     "Training loss (MSE as (1/2n)Σ|f−y|², or cross-entropy) and accuracy; test "
                     "values where they were measured."};
}

std::optional<DrawnFigure> draw_condensation(const RunData& run, const fs::path& figures,
                                             const FigureOptions& options) {
  const auto layers = curve_layers(run);
  if (layers.empty()) return std::nullopt;
  std::string plots[4];
  const std::string x = step_column(options);
  // RD is drawn on a log axis, which takes only RD > 0; weights that never moved (frozen layers
  // of a run trained elsewhere) have none, and a plot without a point fails.
  const bool moved = std::any_of(run.analysis.begin(), run.analysis.end(),
                                 [](const AnalysisRow& r) { return r.rd > 0; });
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::string file = gnuplot_quote(write_layer_table(run, layers[i], figures).string());
    const std::string sep = i == 0 ? "plot " : ", ";
    const std::string title = gnuplot_quote(layers[i]);
    const int lt = int(i % 8) + 1;
    plots[0] +=
        fmt::format("{}{} using {}:2 with linespoints lt {} title {}", sep, file, x, lt, title);
    plots[1] +=
        fmt::format("{}{} using {}:4 with linespoints lt {} title {}", sep, file, x, lt, title);
    plots[2] +=
        fmt::format("{}{} using {}:6 with linespoints lt {} title {}", sep, file, x, lt, title);
    plots[3] += fmt::format("{}{} using {}:{} with linespoints lt {} title {}", sep, file, x,
                            moved ? "($8 > 0 ? $8 : NaN)" : "8", lt, title);
  }
  // A few layers are named inside each panel; more (a ResNet's) in one key right of the panels,
  // where they cover no curve.
  const bool side_key = layers.size() > 3;
  std::string body = "set datafile separator comma\n" + x_axis(options) +
                     fmt::format("set multiplot layout 2,2 margins 0.08,{},0.12,0.92 "
                                 "spacing 0.09,0.15\n",
                                 side_key ? "0.78" : "0.98") +
                     (side_key ? "set key at screen 0.995,0.92 right top font ',7'\n"
                               : "set key font ',7' bottom right\n");
  // Step labels on the bottom row only.
  body += "set xlabel ' '\nset title 'mean |cos| between kernels'\nset yrange [0:1.02]\n" +
          plots[0] + "\n" + (side_key ? "unset key\n" : "");
  body += std::string("set title 'lines (|cos| > threshold)'\nset yrange [0:*]\n") +
          (side_key ? "" : "set key bottom left\n") + plots[1] + "\n";
  body += x_axis(options) + "set title 'effective rank'\nset yrange [0:*]\n" + plots[2] + "\n";
  body += std::string("set title 'relative distance RD'\n") +
          (moved ? "set logscale y\nset format y '10^{%T}'\n" : "") + "set yrange [*:*]\n" +
          (side_key ? "" : "set key bottom right\n") + plots[3] + "\nunset multiplot\n";
  render_figure(figures, {"condensation", "Condensation measures over training",
                          side_key ? 8.5 : 7.0, 4.6, body},
                options.pdf);
  return DrawnFigure{"condensation", "Condensation over training",
                     "Per tracked layer: mean |cos| between kernels (condensed: → 1), number of "
                     "lines, effective rank (condensed onto one line: → 1) and relative distance "
                     "from the initial weights."};
}

std::optional<DrawnFigure> draw_alignment(const RunData& run, const fs::path& figures,
                                          const FigureOptions& options,
                                          std::vector<std::string>& notes) {
  const std::string layer = run.aligned_layer();
  if (layer.empty()) return std::nullopt;
  // A deeper network's alignment is measured against the two-layer prediction, whose time scales
  // belong to the two-layer network: they are not drawn (the report's table lists them).
  const std::string deeper = run.deeper_network();
  const fs::path table = write_layer_table(run, layer, figures);
  const std::string x = step_column(options);
  std::string body = "set datafile separator comma\n" + x_axis(options) +
                     "set yrange [0:1.05]\nset ylabel 'mean |cos(W_β, v_1)|'\n"
                     "set key bottom right font ',7'\n"
                     "set margins 8,2,3.5,2\n";
  std::string plot = fmt::format(
      "plot {f} using {x}:9 with linespoints lt 1 title 'measured ({l})', "
      "{f} using {x}:10 with lines lt 1 dt 3 title 'worst kernel'",
      fmt::arg("f", gnuplot_quote(table.string())), fmt::arg("x", x), fmt::arg("l", layer));
  if (!run.predicted_alignment.empty()) {
    std::string curve = "step,predicted_alignment\n";
    for (const auto& [step, value] : run.predicted_alignment)
      curve += fmt::format("{},{}\n", step, csv_number(value));
    write_file_atomic(figures / "data" / "predicted_alignment.csv", curve);
    plot += fmt::format(
        ", 'data/predicted_alignment.csv' using {}:2 with lines lt 2 lw 2 "
        "title 'predicted (linear dynamics)'",
        x);
  } else {
    notes.push_back("alignment figure: no predicted_alignment.csv, only the measurement is drawn");
  }
  // Predicted time scales: vertical lines, named in the key.
  int arrow = 1;
  for (const auto& [scale, label, dash] : std::vector<std::tuple<std::string, std::string, int>>{
           {"t_align_1e-2", "t_{align}(10^{-2})", 2},
           {"t_align_1e-3", "t_{align}(10^{-3})", 4},
           {"t_lin", "t_{lin}", 5}}) {
    const auto steps = run.predicted_steps(scale);
    if (!steps || !deeper.empty()) continue;
    body += fmt::format(
        "set arrow {} from first {:.6g}, graph 0 to first {:.6g}, graph 1 nohead "
        "lc rgb '#555555' lw 1 dt {}\n",
        arrow++, *steps, *steps, dash);
    plot += fmt::format(", NaN with lines lc rgb '#555555' lw 1 dt {} title {}", dash,
                        gnuplot_quote(fmt::format("predicted {} = {:.0f}", label, *steps)));
  }
  body += "set title " +
          gnuplot_quote(deeper.empty()
                            ? "alignment of " + layer + " with the predicted direction ±v_1"
                            : "alignment of " + layer + " with the two-layer prediction ±v_1") +
          "\n" + plot + "\n";
  render_figure(figures, {"alignment", "Alignment with v1: measured and predicted", 5.5, 3.4, body},
                options.pdf);
  if (!deeper.empty())
    return DrawnFigure{
        "alignment", "Alignment with the two-layer prediction (measured)",
        "Mean over kernels of |cos(W_β, v₁)| of the first layer (dotted: the worst kernel), where "
        "v₁ is the direction the theory predicts for a two-layer CNN with this first layer on "
        "the same data. This network (" + deeper + ") is deeper than the theory covers: the "
        "curve is a measurement against that direction, not a prediction, and the two-layer "
        "network's time scales are not drawn (docs/theory.md)."};
  return DrawnFigure{"alignment", "Alignment with the predicted direction",
                     "Mean over kernels of |cos(W_β, v₁)| (dotted: the worst kernel) against the "
                     "alignment predicted by integrating the linearized dynamics from the initial "
                     "weights; dashed vertical lines: predicted t_align(δ) = ln(1/δ)/(s₁−s₂) and "
                     "t_lin = ln(1/ε)/s₁ in optimizer steps (docs/theory.md)."};
}

// The kernel mosaic: rows are steps, columns are kernels in the final clustering's order, then v₁.
// The grid is in scan order (gnuplot's image format), `planes` values per cell; gaps are NaN.
struct KernelMosaic {
  long channels = 0, kh = 0, kw = 0;
  long tile_h = 0, tile_w = 0, columns = 0, rows = 0, width = 0, height = 0, planes = 1;
  std::vector<double> grid;

  bool rgb() const { return channels == 3; }

  // Tiles are kh × kw for RGB, else the channels stacked vertically with a gap.
  KernelMosaic(long c, long h, long w, long kernel_columns, long step_rows)
      : channels(c),
        kh(h),
        kw(w),
        tile_h(c == 3 ? h : c * h + (c - 1)),
        tile_w(w),
        columns(kernel_columns),
        rows(step_rows),
        width(columns * (tile_w + 1) - 1),
        height(rows * (tile_h + 1) - 1),
        planes(c == 3 ? 3 : 1),
        grid(std::size_t(width * height * planes), std::nan("")) {}

  // One kernel `w` (channels·kh·kw values) into tile (column, row), scaled by its own largest
  // |entry|; with `v1` given, flipped to face +v₁.
  void draw(const double* w, long column, long row, const std::vector<double>& v1) {
    const long d = channels * kh * kw;
    double scale = 0, dot = 0;
    for (long i = 0; i < d; ++i) {
      scale = std::max(scale, std::abs(w[i]));
      if (!v1.empty()) dot += w[i] * v1[std::size_t(i)];
    }
    const double sign = dot < 0 ? -1.0 : 1.0;
    if (scale == 0) scale = 1;
    const long x0 = column * (tile_w + 1), y0 = row * (tile_h + 1);
    for (long ch = 0; ch < channels; ++ch)
      for (long y = 0; y < kh; ++y)
        for (long x = 0; x < kw; ++x) {
          const long gy = rgb() ? y0 + y : y0 + ch * (kh + 1) + y;
          const long plane = rgb() ? ch : 0;
          grid[std::size_t(((gy * width) + x0 + x) * planes + plane)] =
              sign * w[(ch * kh + y) * kw + x] / scale;
        }
  }

  // The grid as gnuplot data: "x y value" (or "x y r g b" in 0..255), a blank line per row.
  std::string data() const {
    std::string text;
    for (long y = 0; y < height; ++y) {
      for (long x = 0; x < width; ++x) {
        const double* v = &grid[std::size_t((y * width + x) * planes)];
        if (rgb())
          text +=
              std::isnan(v[0])
                  ? fmt::format("{} {} 255 255 255\n", x, y)
                  : fmt::format("{} {} {} {} {}\n", x, y, std::lround(127.5 * (1 + v[0])),
                                std::lround(127.5 * (1 + v[1])), std::lround(127.5 * (1 + v[2])));
        else
          text += std::isnan(v[0]) ? fmt::format("{} {} NaN\n", x, y)
                                   : fmt::format("{} {} {:.5f}\n", x, y, v[0]);
      }
      text += "\n";
    }
    return text;
  }
};

// The first layer whose weight is a conv weight (4-D) in the last snapshot, or "" when the model
// has none. Names say nothing: a ResNet's conv layers are "layer1.0.conv1" and "downsample.0".
std::string first_conv_layer(const RunData& run) {
  const std::vector<long> steps = snapshot_steps(run);
  if (steps.empty()) return {};
  for (const auto& layer : run.layers)
    if (const auto weight = load_snapshot_parameter(run, steps.back(), layer + ".weight");
        weight && weight->first.size() == 4)
      return layer;
  return {};
}

// At most four of `steps` that have a snapshot of `parameter`: first, last and two between.
std::vector<long> kernel_steps(const RunData& run, const std::vector<long>& steps,
                               const std::string& parameter) {
  std::vector<long> shown;
  for (long s : steps)
    if (load_snapshot_parameter(run, s, parameter)) shown.push_back(s);
  if (shown.size() > 4)
    shown = {shown[0], shown[shown.size() / 3], shown[2 * shown.size() / 3], shown.back()};
  return shown;
}

// The final clustering's order of the m kernels (0..m-1 without one).
std::vector<long> final_kernel_order(const RunData& run, const std::string& layer, long m) {
  std::vector<long> order;
  if (auto final = load_cosines(run, run.cosine_steps.back(), layer, nullptr)) order = final->order;
  if (long(order.size()) != m) {
    order.clear();
    for (long k = 0; k < m; ++k) order.push_back(k);
  }
  return order;
}

// v₁ of prediction.json when it has d entries, else empty.
std::vector<double> predicted_v1(const RunData& run, long d) {
  if (!run.prediction || long(run.prediction->v1.size()) != d) return {};
  return run.prediction->v1;
}

// The gnuplot script of the mosaic: tics naming kernels and steps, square cells.
std::string kernel_mosaic_script(const KernelMosaic& mosaic, const std::vector<long>& order,
                                 bool with_v1, const std::vector<long>& shown,
                                 const std::string& title) {
  std::vector<std::string> xtics, ytics;
  const double tile_w = double(mosaic.tile_w), tile_h = double(mosaic.tile_h);
  for (std::size_t j = 0; j < order.size(); ++j)
    xtics.push_back(
        fmt::format("'{}' {}", order[j], double(j) * (tile_w + 1) + (tile_w - 1) / 2.0));
  if (with_v1)
    xtics.push_back(
        fmt::format("'v_1' {}", double(order.size()) * (tile_w + 1) + (tile_w - 1) / 2.0));
  for (std::size_t r = 0; r < shown.size(); ++r)
    ytics.push_back(
        fmt::format("'step {}' {}", shown[r], double(r) * (tile_h + 1) + (tile_h - 1) / 2.0));
  std::string body = fmt::format(
      "set size ratio -1\nset xrange [-0.5:{}]\nset yrange [{}:-0.5]\nunset grid\nset border 0\n"
      "set xtics ({}) font ',6' scale 0 rotate by 90 right\nset ytics ({}) font ',7' scale 0\n"
      "set cbrange [-1:1]\nset cbtics font ',6'\nset title {} font ',9'\n",
      mosaic.columns * (mosaic.tile_w + 1) - 1.5, mosaic.rows * (mosaic.tile_h + 1) - 1.5,
      fmt::join(xtics, ", "), fmt::join(ytics, ", "), gnuplot_quote(title));
  body +=
      mosaic.rgb()
          ? "unset colorbox\nplot 'data/kernels.dat' using 1:2:3:4:5 with rgbimage\n"
          : "set cblabel 'w / max|w|' font ',7'\nplot 'data/kernels.dat' using 1:2:3 with image\n";
  return body;
}

// The first conv layer's kernels as images: rows are steps, columns are kernels in the final
// clustering's order, then v₁. Each kernel is scaled by its own largest |entry| so that its
// direction, not its size, is shown; with v₁ known, each is drawn with the sign that faces +v₁.
std::optional<DrawnFigure> draw_kernels(const RunData& run, const fs::path& figures,
                                        const std::vector<long>& steps,
                                        const FigureOptions& options,
                                        std::vector<std::string>& notes) {
  const std::string layer = first_conv_layer(run);
  if (layer.empty()) return std::nullopt;
  const std::string parameter = layer + ".weight";
  const std::vector<long> shown = kernel_steps(run, steps, parameter);
  if (shown.empty()) {
    notes.push_back("kernel images: no snapshot of " + parameter + " at the chosen steps");
    return std::nullopt;
  }
  const auto shape = load_snapshot_parameter(run, shown[0], parameter)->first;
  if (shape.size() != 4) return std::nullopt;
  const long m = shape[0], c = shape[1], d = c * shape[2] * shape[3];
  std::vector<long> order = final_kernel_order(run, layer, m);  // at most 32 kernels
  const bool truncated = order.size() > 32;
  if (truncated) order.resize(32);
  const std::vector<double> v1 = predicted_v1(run, d);

  KernelMosaic mosaic(c, shape[2], shape[3], long(order.size()) + (v1.empty() ? 0 : 1),
                      long(shown.size()));
  for (std::size_t r = 0; r < shown.size(); ++r) {
    const auto weights = load_snapshot_parameter(run, shown[r], parameter);
    if (!weights || weights->first != shape) continue;
    for (std::size_t j = 0; j < order.size(); ++j)
      mosaic.draw(weights->second.data() + order[j] * d, long(j), long(r), v1);
    if (!v1.empty()) mosaic.draw(v1.data(), long(order.size()), long(r), {});
  }
  write_file_atomic(figures / "data" / "kernels.dat", mosaic.data());
  const std::string title = fmt::format("{} kernels{}{}", layer,
                                        mosaic.rgb() ? " as RGB (0.5 + 0.5·w/max|w|)"
                                        : c > 1      ? ", channels stacked"
                                                     : "",
                                        truncated ? fmt::format(", first 32 of {}", m) : "");
  // Square cells of at most 0.09 in, the mosaic at most 5.4 in wide, plus room for labels.
  const double cell = std::min(0.09, 5.4 / double(mosaic.width));
  const double width = 1.6 + double(mosaic.width) * cell,
               height = 1.0 + double(mosaic.height) * cell;
  render_figure(
      figures,
      {"kernels", "Kernels of " + layer + " next to v1", width, std::clamp(height, 1.2, 8.0),
       kernel_mosaic_script(mosaic, order, !v1.empty(), shown, title)},
      options.pdf);
  return DrawnFigure{
      "kernels", "Kernels of " + layer,
      fmt::format("The kernels of {} at steps {} (columns in the final clustering's order), each "
                  "scaled by its own largest |entry|{}{}.",
                  layer, fmt::join(shown, ", "),
                  v1.empty() ? "" : ", drawn with the sign facing +v₁, next to v₁ itself",
                  mosaic.rgb() ? "; three input channels as one RGB image" : "")};
}

std::optional<DrawnFigure> draw_heatmaps(const RunData& run, const std::string& layer,
                                         const fs::path& figures, const std::vector<long>& steps,
                                         const FigureOptions& options,
                                         std::vector<std::string>& notes) {
  const auto final = load_cosines(run, run.cosine_steps.back(), layer, &notes);
  if (!final) return std::nullopt;
  std::vector<HeatmapPanel> panels;
  for (long step : steps) {
    const auto matrix = load_cosines(run, step, layer, &notes);
    if (!matrix) continue;
    if (matrix->cosines.rows() != final->cosines.rows()) {
      notes.push_back(fmt::format("{} at step {}: {} kernels, but {} at the end", layer, step,
                                  matrix->cosines.rows(), final->cosines.rows()));
      continue;
    }
    panels.push_back(write_heatmap_panel(*matrix, final->order, figures,
                                         fmt::format("heatmap_{}_step_{}", layer, step),
                                         fmt::format("step {}", step)));
  }
  if (panels.empty()) return std::nullopt;
  const int columns = int(std::min<std::size_t>(panels.size(), 6));
  const int rows = int((panels.size() + 5) / 6);
  const double width = std::min(7.5, 0.9 + 1.45 * columns);
  render_figure(figures,
                {"heatmaps_" + layer, "Cosine heatmaps of " + layer, width, 0.5 + 1.55 * rows,
                 heatmap_row_body(panels, columns, "cosines between the kernels of " + layer)},
                options.pdf);
  return DrawnFigure{
      "heatmaps_" + layer, "Cosine heatmaps of " + layer,
      fmt::format("cos(W_β, W_γ) between the {} kernels of {} at steps {}; rows and columns in "
                  "the order of the final clustering, so condensed kernels form blocks of +1 "
                  "(same orientation) and −1 (opposite orientation on the same line).",
                  final->cosines.rows(), layer, fmt::join(steps, ", "))};
}

}  // namespace

std::vector<DrawnFigure> draw_run_figures(const RunData& run, const fs::path& figures,
                                          const FigureOptions& options,
                                          std::vector<std::string>& notes) {
  make_directories(figures / "data");
  std::vector<DrawnFigure> drawn;
  // A figure that cannot be drawn from this run's files is noted and skipped; a missing gnuplot
  // stops everything, as no figure could be drawn.
  auto attempt = [&](const char* what, auto draw) {
    try {
      if (auto figure = draw()) drawn.push_back(*figure);
    } catch (const InputError& e) {
      notes.push_back(fmt::format("{} figure not drawn: {}", what, e.what()));
    }
  };
  std::vector<long> steps;
  if (!run.cosine_steps.empty()) {
    if (options.steps.empty()) {
      steps = default_heatmap_steps(run, run.layers.empty() ? "" : run.layers.front());
    } else {
      for (long s : options.steps) {
        const long nearest = run.nearest_cosine_step(double(s));
        if (nearest != s)
          notes.push_back(fmt::format("step {} has no snapshot; showing step {}", s, nearest));
        if (std::find(steps.begin(), steps.end(), nearest) == steps.end()) steps.push_back(nearest);
      }
    }
    for (const auto& layer : run.layers)
      attempt("heatmap", [&] { return draw_heatmaps(run, layer, figures, steps, options, notes); });
  }
  attempt("training", [&] { return draw_training(run, figures, options, notes); });
  attempt("condensation", [&] { return draw_condensation(run, figures, options); });
  attempt("alignment", [&] { return draw_alignment(run, figures, options, notes); });
  if (!steps.empty())
    attempt("kernel", [&] { return draw_kernels(run, figures, steps, options, notes); });
  return drawn;
}

std::vector<long> default_heatmap_steps(const RunData& run, const std::string& layer) {
  const auto& all = run.cosine_steps;
  if (all.size() <= 5) return all;
  std::vector<long> chosen{all.front()};
  const auto rows = run.rows_of(layer);
  double start = NAN, top = -1;
  for (const auto& r : rows)
    if (std::isfinite(r.mean_abs_cos)) {
      if (!std::isfinite(start)) start = r.mean_abs_cos;
      top = std::max(top, r.mean_abs_cos);
    }
  if (std::isfinite(start) && top - start > 0.05) {
    for (double fraction : {0.2, 0.5, 0.95}) {
      const double level = start + fraction * (top - start);
      for (const auto& r : rows)
        if (r.mean_abs_cos >= level) {
          chosen.push_back(run.nearest_cosine_step(double(r.step)));
          break;
        }
    }
  }
  chosen.push_back(all.back());
  std::sort(chosen.begin(), chosen.end());
  chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
  // Too few distinct steps (no condensation, or a sudden one): spread the rest over the run.
  for (std::size_t i = 1; chosen.size() < 5 && i < 8; ++i) {
    const long candidate = all[std::min(all.size() - 1, all.size() * i / 8)];
    if (std::find(chosen.begin(), chosen.end(), candidate) == chosen.end()) {
      chosen.push_back(candidate);
      std::sort(chosen.begin(), chosen.end());
    }
  }
  return chosen;
}

HeatmapPanel write_heatmap_panel(const CosineMatrix& matrix, const std::vector<long>& order,
                                 const fs::path& figures, const std::string& stem,
                                 const std::string& title) {
  const long m = matrix.cosines.rows();
  std::vector<float> sorted(std::size_t(m * m));
  for (long i = 0; i < m; ++i)
    for (long j = 0; j < m; ++j)
      sorted[std::size_t(i * m + j)] =
          float(matrix.cosines(order[std::size_t(i)], order[std::size_t(j)]));
  HeatmapPanel panel;
  panel.title = title;
  panel.data = fs::path("data") / (stem + ".npy");
  panel.kernels = m;
  panel.order = order;
  write_npy(figures / panel.data, sorted.data(), {m, m}, NpyType::float32);
  panel.skip = npy_header_bytes(figures / panel.data);
  return panel;
}

std::string heatmap_row_body(const std::vector<HeatmapPanel>& panels, int columns,
                             const std::string& figure_title) {
  const int rows = int((panels.size() + std::size_t(columns) - 1) / std::size_t(columns));
  // A figure title takes a line above the panels' own titles.
  std::string body = fmt::format(
      "unset grid\nset cbrange [-1:1]\nset cbtics 0.5 font ',7'\nset size square\n"
      "set multiplot layout {},{}{} margins 0.05,0.88,{:.3f},{:.3f} spacing 0.035,{:.3f}\n",
      rows, columns,
      figure_title.empty() ? "" : " title " + gnuplot_quote(figure_title) + " font ',9'",
      0.17 / rows, 1 - (figure_title.empty() ? 0.1 : 0.17) / rows, (rows > 1 ? 0.22 : 0.18) / rows);
  for (std::size_t i = 0; i < panels.size(); ++i) {
    const auto& p = panels[i];
    const long m = p.kernels;
    // The subtitle joins the title: under the axis it would sit where a next row's titles are.
    const std::string title = p.subtitle.empty() ? p.title : p.title + ": " + p.subtitle;
    body += fmt::format("set title {} font ',{}'\nset xrange [-0.5:{}]\nset yrange [{}:-0.5]\n",
                        gnuplot_quote(title), p.subtitle.empty() ? 8 : 7, m - 0.5, m - 0.5);
    body += kernel_tics(p.order, "x") + kernel_tics(p.order, "y") + "unset xlabel\n";
    if (p.order.size() <= 32) body += "set xtics norotate\n";
    body += i + 1 == panels.size()
                ? "set colorbox user origin 0.9,0.25 size 0.015,0.5\nset cblabel 'cos' font ',8'\n"
                : "unset colorbox\n";
    body += fmt::format(
        "plot {} binary skip={} array=({},{}) format='%float32' endian=little with image\n",
        gnuplot_quote(p.data.string()), p.skip, m, m);
  }
  return body + "unset multiplot\n";
}

}  // namespace condense
