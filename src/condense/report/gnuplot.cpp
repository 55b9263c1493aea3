#include "condense/report/gnuplot.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

std::string gnuplot_executable() {
  const char* configured = std::getenv("CONDENSE_GNUPLOT");
  return configured && *configured ? configured : "gnuplot";
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Runs a shell command; returns its exit status and its combined output.
std::pair<int, std::string> run_command(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) fail_io("could not start \"{}\"", command);
  std::string output;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128, output};
}

}  // namespace

std::string gnuplot_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return quoted + "'";
}

std::string gnuplot_style() {
  // Blue–white–red (ColorBrewer RdBu) fixed to [−1, 1]: −1 blue, 0 white, +1 red.
  return R"(set palette defined (-1 '#2166ac', -0.5 '#92c5de', 0 '#f7f7f7', 0.5 '#f4a582', 1 '#b2182b')
set linetype 1 lc rgb '#1b6ca8' lw 1.5 pt 7 ps 0.45
set linetype 2 lc rgb '#d1495b' lw 1.5 pt 5 ps 0.45
set linetype 3 lc rgb '#2e933c' lw 1.5 pt 9 ps 0.5
set linetype 4 lc rgb '#edae49' lw 1.5 pt 11 ps 0.5
set linetype 5 lc rgb '#6a4c93' lw 1.5 pt 13 ps 0.5
set linetype 6 lc rgb '#00798c' lw 1.5 pt 15 ps 0.5
set linetype 7 lc rgb '#8c564b' lw 1.5 pt 4 ps 0.5
set linetype 8 lc rgb '#444444' lw 1.5 pt 6 ps 0.5
set linetype cycle 8
set style line 20 lc rgb '#555555' lw 1 dt 2
set style line 21 lc rgb '#bbbbbb' lw 0.5 dt 3
set grid back ls 21
set border lw 0.8
set tics nomirror out scale 0.6
set key noautotitle
)";
}

void render_figure(const fs::path& figures, const GnuplotFigure& figure, bool pdf) {
  const double dpi_scale = kPngDpi / 72.0;
  const std::string script = fmt::format(
      R"(# condense figure: {title}
# Redraw: `gnuplot {name}.gp` writes {name}.png; `gnuplot -e "term='pdf'" {name}.gp` writes {name}.pdf.
# Paths are relative to this folder; the data behind the figure is in data/ and the run directory.
if (!exists("term")) term = 'png'
if (!exists("outfile")) outfile = '{name}.' . term
if (term eq 'pdf') {{
  set terminal pdfcairo enhanced color font 'DejaVu Sans,8' size {w}in,{h}in
}} else {{
  set terminal pngcairo enhanced color font 'DejaVu Sans,8' size {wpx},{hpx} fontscale {fs:.3f} linewidth {fs:.3f}
}}
set output outfile
{style}
{body}
unset output
)",
      fmt::arg("title", figure.title), fmt::arg("name", figure.name),
      fmt::arg("w", figure.width_in), fmt::arg("h", figure.height_in),
      fmt::arg("wpx", int(figure.width_in * kPngDpi + 0.5)),
      fmt::arg("hpx", int(figure.height_in * kPngDpi + 0.5)), fmt::arg("fs", dpi_scale),
      fmt::arg("style", gnuplot_style()), fmt::arg("body", figure.body));
  const fs::path script_path = figures / (figure.name + ".gp");
  write_file_atomic(script_path, script);

  for (const std::string term : {"png", "pdf"}) {
    if (term == "pdf" && !pdf) continue;
    const std::string final_name = figure.name + "." + term;
    const std::string temporary = final_name + ".tmp";
    const std::string command = fmt::format(
        "cd {} && {} -e {} {}", shell_quote(figures.string()), shell_quote(gnuplot_executable()),
        shell_quote(fmt::format("term='{}'; outfile='{}'", term, temporary)),
        shell_quote(figure.name + ".gp"));
    const auto [code, output] = run_command(command);
    std::error_code error;
    if (code != 0 || !fs::exists(figures / temporary, error) ||
        fs::file_size(figures / temporary, error) == 0) {
      fs::remove(figures / temporary, error);
      if (code == 127)
        fail_io(
            "cannot draw {}: gnuplot was not found (\"{}\"); install the Debian package "
            "gnuplot-nox (scripts/setup.sh does), or set CONDENSE_GNUPLOT",
            (figures / final_name).string(), gnuplot_executable());
      fail_io("gnuplot failed on {} (exit {}): {}", script_path.string(), code, output);
    }
    const fs::path target = write_target(figures / final_name);
    fs::rename(figures / temporary, target, error);
    if (error)
      fail_io("{}: cannot rename into place: {}", (figures / final_name).string(), error.message());
  }
}

std::string gnuplot_version() {
  const auto [code, output] = run_command(shell_quote(gnuplot_executable()) + " --version");
  if (code != 0) return "";
  return output.substr(0, output.find('\n'));
}

}  // namespace condense
