#pragma once
// The progress line of a training run on stderr: step, loss, accuracy, test numbers, speed and
// ETA. Redrawn in place at most every 0.25 s on a terminal, one line every 5 s otherwise.
#include <chrono>
#include <functional>
#include <string>

#include "condense/rundir/metrics.hpp"

namespace condense {

class ProgressLine {
 public:
  // Nothing is printed when `quiet`. `note` adds text of its own (the latest condensation
  // measures); the rate is counted from `first_step`, now.
  ProgressLine(bool quiet, long first_step, long total, std::function<std::string()> note);

  // On a terminal the line is left open until the final one.
  bool terminal() const { return terminal_; }

  // Between evaluations of a mini-batch run the row has no training loss: the line shows the
  // mean loss of this epoch's batches so far instead (`batch_mean`, NaN elsewhere), labelled so.
  void show(long step, const MetricsRow& row, double batch_mean, bool final);

 private:
  using Clock = std::chrono::steady_clock;
  bool quiet_, terminal_;
  long first_step_, total_;
  std::function<std::string()> note_;
  Clock::time_point started_ = Clock::now();
  Clock::time_point last_print_ = Clock::now() - std::chrono::hours(1);
};

// "42s", "3m05s", "2h10m"; "?" for a negative or non-finite time.
std::string format_duration(double seconds);

}  // namespace condense
