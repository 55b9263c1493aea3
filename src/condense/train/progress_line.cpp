#include "condense/train/progress_line.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>

namespace condense {

ProgressLine::ProgressLine(bool quiet, long first_step, long total,
                           std::function<std::string()> note)
    : quiet_(quiet),
      terminal_(::isatty(STDERR_FILENO) && !quiet),
      first_step_(first_step),
      total_(total),
      note_(std::move(note)) {}

void ProgressLine::show(long step, const MetricsRow& row, double batch_mean, bool final) {
  if (quiet_) return;
  const auto now = Clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  if (!final && since < (terminal_ ? 0.25 : 5.0)) return;
  last_print_ = now;
  const double run_time = std::chrono::duration<double>(now - started_).count();
  const double rate = run_time > 0 ? double(step - first_step_) / run_time : 0;
  std::string line =
      std::isnan(batch_mean)
          ? fmt::format("step {}/{}  loss {:.6g}", step, total_, row.train_loss)
          : fmt::format("step {}/{}  batch loss {:.6g} (epoch mean)", step, total_, batch_mean);
  if (row.train_acc >= 0) line += fmt::format("  acc {:.3f}", row.train_acc);
  if (row.test_loss >= 0) line += fmt::format("  test {:.4g}", row.test_loss);
  if (row.test_acc >= 0) line += fmt::format("/{:.3f}", row.test_acc);
  line += fmt::format("  {:.1f} steps/s  ETA {}", rate,
                      rate > 0 ? format_duration(double(total_ - step) / rate) : "?");
  if (note_) line += "  " + note_();
  if (terminal_)
    fmt::print(stderr, "\r\033[K{}{}", line, final ? "\n" : "");
  else
    fmt::print(stderr, "{}\n", line);
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = long(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace condense
