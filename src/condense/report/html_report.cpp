#include "condense/report/html_report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "condense/core/atomic_file.hpp"
#include "condense/core/base64.hpp"
#include "condense/report/measured.hpp"

namespace condense {

namespace fs = std::filesystem;

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

std::string number(double value, const char* format = "{:.4g}") {
  return std::isfinite(value) ? fmt::format(fmt::runtime(format), value) : std::string("–");
}

nlohmann::json json_number(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

// The (M, M) matrix in `order`, block-averaged to at most `side` rows, quantized to bytes:
// q = round((cos + 1) · 127.5), so cos = q / 127.5 − 1 within 0.004.
std::string quantized(const CosineMatrix& matrix, const std::vector<long>& order, long side,
                      long* shown_side) {
  const long m = matrix.cosines.rows();
  const long block = (m + side - 1) / side;
  const long n = (m + block - 1) / block;
  std::string bytes(std::size_t(n * n), '\0');
  for (long i = 0; i < n; ++i)
    for (long j = 0; j < n; ++j) {
      double sum = 0;
      long count = 0;
      for (long a = i * block; a < std::min(m, (i + 1) * block); ++a)
        for (long b = j * block; b < std::min(m, (j + 1) * block); ++b, ++count)
          sum += matrix.cosines(order[std::size_t(a)], order[std::size_t(b)]);
      const double value = std::clamp(sum / double(count), -1.0, 1.0);
      bytes[std::size_t(i * n + j)] = char(std::lround((value + 1) * 127.5));
    }
  *shown_side = n;
  return bytes;
}

std::string summary_table(const RunData& run) {
  std::string rows;
  auto row = [&](const std::string& key, const std::string& value) {
    rows += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", html_escape(key), value);
  };
  row("run", html_escape(run.root.string()));
  row("status", html_escape(run.status()));
  if (run.summary) {
    const RunSummary& s = *run.summary;
    if (!s.data.empty()) row("data", html_escape(s.data));
    if (s.steps) row("steps", std::to_string(*s.steps));
    if (!s.dtype.empty()) row("dtype", html_escape(s.dtype));
    if (s.parameters) row("parameters", std::to_string(*s.parameters));
    if (s.training_seconds) row("training time", fmt::format("{:.1f} s", *s.training_seconds));
  }
  if (run.prediction && !run.prediction->model_description.empty())
    row("model", html_escape(run.prediction->model_description));
  else if (run.summary && !run.summary->model.empty())  // a run trained elsewhere says what it is
    row("model", "<pre>" + html_escape(run.summary->model) + "</pre>");
  if (!run.metrics.empty()) {
    const MetricsRow& last = run.metrics.back();
    row("final (step " + std::to_string(last.step) + ")",
        fmt::format("train loss {} · train acc {} · test loss {} · test acc {}",
                    number(last.train_loss), number(last.train_acc, "{:.3f}"),
                    number(last.test_loss), number(last.test_acc, "{:.3f}")));
  }
  return "<table class=\"summary\">\n" + rows + "</table>\n";
}

std::string layer_table(const RunData& run) {
  std::vector<std::string> layers;
  for (const auto& r : run.analysis)
    if (std::find(layers.begin(), layers.end(), r.layer) == layers.end()) layers.push_back(r.layer);
  if (layers.empty()) return "<p>No condensation measures (analysis.csv) in this run.</p>\n";
  std::string html =
      "<table class=\"grid\"><tr><th>layer</th><th>final step</th><th>mean |cos|</th>"
      "<th>lines</th><th>orientations</th><th>negligible</th><th>effective rank</th><th>RD</th>"
      "<th>align v₁</th><th>peak mean |cos| (step)</th><th>fewest lines (step)</th></tr>\n";
  for (const auto& layer : layers) {
    const auto rows = run.rows_of(layer);
    const AnalysisRow& last = rows.back();
    const AnalysisRow* peak = nullptr;
    const AnalysisRow* fewest = nullptr;
    for (const auto& r : rows) {
      if (std::isfinite(r.mean_abs_cos) && (!peak || r.mean_abs_cos > peak->mean_abs_cos))
        peak = &r;
      if (!fewest || r.n_lines < fewest->n_lines) fewest = &r;
    }
    html += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        html_escape(layer), last.step, number(last.mean_abs_cos, "{:.4f}"), last.n_lines,
        last.n_orientations, last.n_negligible, number(last.effective_rank, "{:.3f}"),
        number(last.rd, "{:.3g}"), number(last.align_v1, "{:.4f}"),
        peak ? fmt::format("{:.4f} ({})", peak->mean_abs_cos, peak->step) : "–",
        fewest ? fmt::format("{} ({})", fewest->n_lines, fewest->step) : "–");
  }
  return html + "</table>\n";
}

std::string prediction_table(const RunData& run) {
  if (!run.prediction)
    return "<p>No prediction: the theory of docs/science.md §2 covers the two-layer CNN and the "
           "two-layer FC net (prediction.json is written for those).</p>\n";
  const auto& p = *run.prediction;
  std::string html;
  if (const std::string deeper = run.deeper_network(); !deeper.empty())
    html += "<p class=\"warn\">This network (" + html_escape(deeper) +
            ") is deeper than the two-layer networks the theory covers. v₁ and the time scales "
            "below are the theory's prediction for a two-layer CNN made of this network's first "
            "layer (" + html_escape(p.scope_layer) +
            ") and a linear readout, on the same data; the alignment of that layer is measured "
            "against v₁, not predicted for this network.</p>\n";
  if (p.correlation) {
    const auto& c = *p.correlation;
    html += fmt::format("<p>Z: {} · s₁ = {} · s₂ = {} · gap s₁ − s₂ = {}</p>\n",
                        html_escape(c.rows), number(c.s1.value_or(NAN)),
                        number(c.s2.value_or(NAN)), number(c.gap.value_or(NAN)));
  }
  const MeasuredTimeScales measured = measure_time_scales(run);
  html += fmt::format(
      "<table class=\"grid\"><tr><th>time scale</th><th>{} (steps)</th>"
      "<th>measured (steps)</th><th>measured as</th></tr>\n",
      run.deeper_network().empty() ? "predicted" : "two-layer prediction");
  for (const auto& scale : measured.scales)
    html += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                        html_escape(scale.name), number(scale.predicted, "{:.1f}"),
                        scale.measured >= 0 ? std::to_string(scale.measured) : "not reached",
                        html_escape(scale.rule));
  html += "</table>\n";
  if (p.activation) {
    const auto& a = *p.activation;
    const auto count = [](const std::optional<long>& n) {
      return n ? std::to_string(*n) : std::string("none (a kink at 0)");
    };
    html += fmt::format(
        "<p>Activation {}: multiplicity p = {}, at most 2p = {} orientations in "
        "the initial stage; measured: {}.</p>\n",
        html_escape(a.name), count(a.multiplicity), count(a.orientations),
        html_escape(measured.orientations_note));
  }
  for (const std::string& warning : p.warnings)
    html += "<p class=\"warn\">Prediction warning: " + html_escape(warning) + "</p>\n";
  return html;
}

const char* kStyle = R"(
body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:0 auto;max-width:1200px;padding:1em 2em;color:#222;line-height:1.4}
h1{font-size:1.5em;margin-bottom:0.2em} h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;font-size:0.9em} th,td{padding:3px 8px;text-align:left;vertical-align:top}
table.grid td,table.grid th{border:1px solid #ddd} table.summary th{color:#555;font-weight:normal}
figure{margin:1em 0} figure img{max-width:100%;border:1px solid #eee} figcaption{font-size:0.85em;color:#444}
pre{background:#f6f6f6;padding:0.8em;font-size:0.8em;max-height:28em;overflow:auto}
#report-notes{background:#fff4e5;border-left:4px solid #e69500;padding:0.5em 1em}
.warn{color:#a05a00} .slider-row{display:flex;align-items:center;gap:1em;margin:0.6em 0}
#step-slider{flex:1} #step-value{font-weight:bold;min-width:6em;display:inline-block}
.heatmaps{display:flex;flex-wrap:wrap;gap:1.2em;align-items:flex-start}
.heatmap-box{text-align:center;font-size:0.85em}
canvas.heatmap{width:340px;height:340px;image-rendering:pixelated;border:1px solid #ccc}
#colorbar{width:22px;height:340px;border:1px solid #ccc}
.cb{display:flex;gap:4px;align-items:stretch} .cb-labels{display:flex;flex-direction:column;justify-content:space-between;font-size:0.8em;height:342px}
)";

const char* kScript = R"(
window.__reportErrors = window.__reportErrors || [];
window.addEventListener('error', e => window.__reportErrors.push(String(e.message)));
(function () {
  const data = JSON.parse(document.getElementById('slider-data').textContent);
  const stops = [[-1, [33, 102, 172]], [-0.5, [146, 197, 222]], [0, [247, 247, 247]],
                 [0.5, [244, 165, 130]], [1, [178, 24, 43]]];
  const palette = new Uint8ClampedArray(256 * 3);
  for (let q = 0; q < 256; q++) {
    const v = q / 127.5 - 1;
    let i = 0;
    while (i < stops.length - 2 && v > stops[i + 1][0]) i++;
    const [a, ca] = stops[i], [b, cb] = stops[i + 1];
    const t = Math.min(1, Math.max(0, (v - a) / (b - a)));
    for (let c = 0; c < 3; c++) palette[q * 3 + c] = Math.round(ca[c] + t * (cb[c] - ca[c]));
  }
  function decode(text) {
    const raw = atob(text), bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }
  const decoded = {};
  function matrix(layer, index) {
    const key = layer.name + ':' + index;
    if (!(key in decoded)) decoded[key] = layer.matrices[index] ? decode(layer.matrices[index]) : null;
    return decoded[key];
  }
  function draw(canvas, layer, index) {
    const n = layer.side, bytes = matrix(layer, index), ctx = canvas.getContext('2d');
    canvas.width = n; canvas.height = n;
    const image = ctx.createImageData(n, n);
    for (let p = 0; p < n * n; p++) {
      const q = bytes ? bytes[p] : 128;
      image.data[4 * p] = bytes ? palette[3 * q] : 200;
      image.data[4 * p + 1] = bytes ? palette[3 * q + 1] : 200;
      image.data[4 * p + 2] = bytes ? palette[3 * q + 2] : 200;
      image.data[4 * p + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  }
  const colorbar = document.getElementById('colorbar');
  if (colorbar) {
    colorbar.width = 1; colorbar.height = 256;
    const ctx = colorbar.getContext('2d'), image = ctx.createImageData(1, 256);
    for (let y = 0; y < 256; y++) {
      const q = 255 - y;
      for (let c = 0; c < 3; c++) image.data[4 * y + c] = palette[3 * q + c];
      image.data[4 * y + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  }
  const slider = document.getElementById('step-slider');
  const stepValue = document.getElementById('step-value');
  const table = document.getElementById('step-metrics');
  const canvases = Array.from(document.querySelectorAll('canvas.heatmap'));
  const fmt = v => (v === null || v === undefined) ? '–' :
      (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v));
  function update() {
    const index = Number(slider.value);
    stepValue.textContent = String(data.steps[index]);
    for (const canvas of canvases) {
      const layer = data.layers.find(l => l.name === canvas.dataset.layer);
      if (layer) draw(canvas, layer, index);
    }
    const m = data.metrics[index] || {};
    let html = '<tr><th>step</th><td>' + data.steps[index] + '</td></tr>';
    for (const key of ['train_loss', 'train_acc', 'test_loss', 'test_acc'])
      if (key in m) html += '<tr><th>' + key.replace('_', ' ') + '</th><td>' + fmt(m[key]) + '</td></tr>';
    html += '<tr><th>layer</th>' + data.columns.map(c => '<th>' + c + '</th>').join('') + '</tr>';
    for (const layer of data.layers) {
      const row = (data.measures[layer.name] || [])[index];
      html += '<tr><td>' + layer.name + '</td>' +
          data.columns.map((c, k) => '<td>' + fmt(row ? row[k] : null) + '</td>').join('') + '</tr>';
    }
    table.innerHTML = html;
  }
  slider.addEventListener('input', update);
  slider.addEventListener('change', update);
  const play = document.getElementById('play');
  let timer = null;
  play.addEventListener('click', () => {
    if (timer) { clearInterval(timer); timer = null; play.textContent = '▶ play'; return; }
    if (Number(slider.value) >= data.steps.length - 1) slider.value = 0;
    play.textContent = '❚❚ pause';
    timer = setInterval(() => {
      if (Number(slider.value) >= data.steps.length - 1) { play.click(); return; }
      slider.value = Number(slider.value) + 1;
      update();
    }, 250);
  });
  update();
  document.body.dataset.ready = '1';
})();
)";

}  // namespace

SliderPlan plan_slider(const RunData& run, const HtmlOptions& options) {
  SliderPlan plan;
  plan.steps = run.cosine_steps;
  long largest = 0;
  for (const auto& layer : run.layers) {
    std::vector<std::string> ignored;
    if (auto m = load_cosines(run, run.cosine_steps.back(), layer, &ignored))
      largest = std::max(largest, long(m->cosines.rows()));
  }
  plan.max_side = largest;
  // Base64 of one byte per entry, every layer counted at the largest layer's size (an upper bound).
  auto bytes = [&](long side, std::size_t steps) {
    const double shown = double(std::min(side, largest));
    return double(run.layers.size()) * shown * shown * double(steps) * 4.0 / 3.0;
  };
  if (bytes(plan.max_side, plan.steps.size()) > double(options.slider_budget) && largest > 256) {
    plan.max_side = 256;
    plan.notes.push_back(fmt::format(
        "time slider: layers of more than 256 kernels are shown block-averaged to at most 256×256 "
        "(the figures and cosines/ keep every kernel)"));
  }
  const double per_step = bytes(plan.max_side, 1);
  if (per_step * double(plan.steps.size()) > double(options.slider_budget) &&
      plan.steps.size() > 2) {
    const std::size_t keep =
        std::max<std::size_t>(2, std::size_t(double(options.slider_budget) / per_step));
    std::vector<long> thinned;
    for (std::size_t i = 0; i < keep; ++i)
      thinned.push_back(plan.steps[i * (plan.steps.size() - 1) / (keep - 1)]);
    thinned.erase(std::unique(thinned.begin(), thinned.end()), thinned.end());
    plan.notes.push_back(
        fmt::format("time slider: {} of {} snapshots shown, evenly spread, to keep the page small",
                    thinned.size(), plan.steps.size()));
    plan.steps = std::move(thinned);
  }
  return plan;
}

namespace {

// The time slider's data (every tracked layer at every kept snapshot, in the final clustering's
// order, with its measures and the metrics of each step) and its canvases.
struct Slider {
  nlohmann::json data;
  std::string canvases;
  std::size_t steps() const { return data["steps"].size(); }
};

// One layer's matrices and measures at the plan's steps, into the slider; its canvas.
void add_slider_layer(const RunData& run, const std::string& layer, const SliderPlan& plan,
                      Slider& slider, std::vector<std::string>& notes) {
  const auto final = load_cosines(run, run.cosine_steps.back(), layer, &notes);
  if (!final) return;
  nlohmann::json entry = {{"name", layer}, {"kernels", final->cosines.rows()}};
  nlohmann::json matrices = nlohmann::json::array();
  nlohmann::json measures = nlohmann::json::array();
  long side = final->cosines.rows();
  for (long step : plan.steps) {
    const auto m = load_cosines(run, step, layer, &notes);
    if (m && m->cosines.rows() == final->cosines.rows())
      matrices.push_back(base64_encode(quantized(*m, final->order, plan.max_side, &side)));
    else
      matrices.push_back(nullptr);
    const AnalysisRow* r = run.row_at(layer, step);
    measures.push_back(r ? nlohmann::json{json_number(r->mean_abs_cos), r->n_lines,
                                          r->n_orientations, r->n_negligible,
                                          json_number(r->effective_rank), json_number(r->rd),
                                          json_number(r->align_v1)}
                         : nlohmann::json(nullptr));
  }
  entry["side"] = side;
  entry["matrices"] = std::move(matrices);
  slider.data["layers"].push_back(std::move(entry));
  slider.data["measures"][layer] = std::move(measures);
  slider.canvases += fmt::format(
      "<div class=\"heatmap-box\"><canvas class=\"heatmap\" data-layer=\"{0}\" width=\"{1}\" "
      "height=\"{1}\"></canvas><br>{0}: {2} kernels{3}</div>\n",
      html_escape(layer), side, final->cosines.rows(),
      side < final->cosines.rows() ? fmt::format(" (shown {}×{})", side, side) : "");
}

Slider make_slider(const RunData& run, const HtmlOptions& options,
                   std::vector<std::string>& notes) {
  Slider slider;
  slider.data = {
      {"steps", nlohmann::json::array()},
      {"layers", nlohmann::json::array()},
      {"metrics", nlohmann::json::array()},
      {"measures", nlohmann::json::object()},
      {"columns",
       {"mean |cos|", "lines", "orientations", "negligible", "effective rank", "RD", "align v₁"}}};
  if (run.cosine_steps.empty() || run.layers.empty()) return slider;
  const SliderPlan plan = plan_slider(run, options);
  notes.insert(notes.end(), plan.notes.begin(), plan.notes.end());
  slider.data["steps"] = plan.steps;
  for (const auto& layer : run.layers) add_slider_layer(run, layer, plan, slider, notes);
  for (long step : plan.steps) {
    const MetricsRow* m = run.metrics_at(step);
    nlohmann::json metrics = nlohmann::json::object();
    if (m) {
      metrics["train_loss"] = json_number(m->train_loss);
      metrics["train_acc"] = json_number(m->train_acc);
      metrics["test_loss"] = json_number(m->test_loss);
      metrics["test_acc"] = json_number(m->test_acc);
    }
    slider.data["metrics"].push_back(std::move(metrics));
  }
  return slider;
}

std::string heatmap_section(const Slider& slider) {
  std::string html = "<h2>Cosine heatmaps over time</h2>\n";
  const std::size_t steps = slider.steps();
  if (steps == 0) return html + "<p>No cosine matrices to show.</p>\n";
  return html +
         fmt::format(
             "<p>Rows and columns in the final clustering's order; colours fixed to [−1, 1]. Drag "
             "the "
             "slider (or use the arrow keys) to step through the {} snapshots.</p>\n"
             "<div class=\"slider-row\"><button id=\"play\" type=\"button\">▶ play</button>"
             "<input type=\"range\" id=\"step-slider\" min=\"0\" max=\"{}\" value=\"{}\" "
             "step=\"1\" "
             "aria-label=\"snapshot\"> step <span id=\"step-value\">{}</span></div>\n"
             "<div class=\"heatmaps\">{}<div class=\"cb\"><canvas id=\"colorbar\"></canvas>"
             "<div class=\"cb-labels\"><span>+1</span><span>0</span><span>−1</span></div></div>\n"
             "<table id=\"step-metrics\" class=\"grid\"></table></div>\n",
             steps, steps - 1, steps - 1, slider.data["steps"].back().get<long>(), slider.canvases);
}

// The figures as embedded PNGs, with their captions and the files they come from.
std::string figures_section(const std::vector<DrawnFigure>& figures, const fs::path& figures_dir) {
  std::string html = "<h2>Figures</h2>\n";
  if (figures.empty()) html += "<p>No figures were drawn.</p>\n";
  for (const auto& f : figures) {
    std::string png;
    try {
      png = base64_encode(read_file(figures_dir / (f.name + ".png")));
    } catch (const std::exception& e) {
      html += "<p class=\"warn\">" + html_escape(e.what()) + "</p>\n";
      continue;
    }
    html += fmt::format(
        "<figure id=\"figure-{0}\"><h3>{1}</h3><img alt=\"{1}\" src=\"data:image/png;base64,{2}\">"
        "<figcaption>{3} Files: figures/{0}.png{4}, figures/{0}.gp (gnuplot script).</figcaption>"
        "</figure>\n",
        html_escape(f.name), html_escape(f.title), png, html_escape(f.caption),
        fs::exists(figures_dir / (f.name + ".pdf")) ? ", figures/" + html_escape(f.name) + ".pdf" : "");
  }
  return html;
}

// The slider's data as JSON in a non-executed script element ("</" escaped so that no string in
// it can close the element), and the script that draws it.
std::string slider_scripts(const Slider& slider) {
  std::string json = slider.data.dump();
  for (std::size_t at = 0; (at = json.find("</", at)) != std::string::npos; at += 3)
    json.replace(at, 2, "<\\/");
  std::string html = "<script type=\"application/json\" id=\"slider-data\">" + json + "</script>\n";
  if (slider.steps() > 0) return html + std::string("<script>") + kScript + "</script>\n";
  return html + "<script>document.body.dataset.ready = '1';</script>\n";
}

}  // namespace

std::string html_report(const RunData& run, const std::vector<DrawnFigure>& figures,
                        const fs::path& figures_dir, const std::vector<std::string>& given_notes,
                        const HtmlOptions& options) {
  std::vector<std::string> notes = given_notes;
  const Slider slider = make_slider(run, options, notes);
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
      "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
      "<title>condense report: {}</title>\n<style>{}</style></head>\n<body>\n"
      "<h1>condense report: {}</h1>\n",
      html_escape(run.name), kStyle, html_escape(run.name));
  if (!notes.empty()) {
    html += "<div id=\"report-notes\"><strong>Notes</strong><ul>\n";
    for (const auto& n : notes) html += "<li>" + html_escape(n) + "</li>\n";
    html += "</ul></div>\n";
  }
  html += "<h2>Summary</h2>\n" + summary_table(run);
  html += "<h2>Condensation per layer</h2>\n" + layer_table(run);
  html += "<h2>Prediction and measurement</h2>\n" + prediction_table(run);
  html += heatmap_section(slider);
  html += figures_section(figures, figures_dir);
  if (run.config_text)
    html += "<h2>Resolved config</h2>\n<pre>" + html_escape(*run.config_text) + "</pre>\n";
  html += slider_scripts(slider);
  html += "</body></html>\n";
  return html;
}

}  // namespace condense
