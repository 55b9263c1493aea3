#pragma once
// `condense sweep SWEEP.toml`: many runs over a grid of settings, one table and phase diagrams.
//
// A sweep file is a run config (every key of `condense config`, shared by all runs) plus [sweep]:
//
//   [sweep]
//   title = "Phase diagram of the two-layer FC net"
//   description = "What the sweep shows, for its page."
//   seeds = 3                        # or a list [0, 4, 7]: the innermost axis, on key `seed`
//   quick = ["train.steps=50"]       # the reduced version (--quick), applied to every run
//   run_reports = true               # each run's figures and report.html (default)
//   [[sweep.axes]]
//   key = "init.gamma"               # any key of `condense config`
//   linear = { from = 0.25, to = 2.5, num = 10 }   # or log = {...}, or values = [...]
//   quick = [0.5, 2.0]               # this axis's values under --quick
//   [[sweep.axes]]
//   key = "train.lr"
//   log = { from = 1e-3, to = 1e-2, num = 4 }
//   [[sweep.axes]]
//   key = "train.steps"
//   values = [2000, 1000, 500, 200]
//   zip = "train.lr"                 # advances with the train.lr axis instead of crossing it
//   [[sweep.figures]]                # phase diagrams (default: the first two axes, by
//   x = "init.gamma"                 #   max_mean_abs_cos and by max_rd)
//   y = "train.lr"
//   metric = "max_rd"                # a column of sweep.csv, per layer or per run
//   layer = "fc1"                    # default: the first tracked layer
//   log_color = true                 # default: true for RD and losses
//   marks = [{ x = 1.0, label = "γ = 1" }]
//   where = ["model.activation=tanh"]   # only the runs with these axis values
//
// Runs are the cross product of the axes (the first outermost; zipped axes move together), each
// named by its parameters (gamma=0.5_lr=0.001_seed=0) and trained into OUT/<name>/, an ordinary
// run directory. OUT also holds sweep.csv (one row per run), figures/phase_*.{png,pdf,gp},
// report.html, logs/<run>.log (each worker's output) and errors/<run>.txt (why a run failed).
// Rerunning skips finished runs, resumes interrupted ones from their checkpoints and retrains
// changed ones; docs/sweeps.md.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "condense/config/config.hpp"
#include "condense/series/run_table.hpp"

namespace condense {

struct SweepAxis {
  std::string key;                  // config key (or "seed")
  std::string name;                 // in folder names: the key's last part unless ambiguous
  std::vector<std::string> values;  // TOML text, as in --set key=value
  std::vector<std::string> labels;  // in folder names, tables and figures
  bool labelled = false;            // labels given in the file: the table's column is `name`
  std::vector<double> numbers;      // numeric values (NaN for others), for marks
  bool log = false;                 // a log range: marks interpolate in log
  int leader = -1;                  // the axis this one is zipped with; −1: its own dimension
};

struct SweepRun {
  std::string name;                 // folder under OUT
  std::vector<std::size_t> value;   // index of this run's value on each axis
  std::optional<RunConfig> config;  // resolved; nullopt when a value is invalid
  std::string error;                // why the config could not be resolved
};

struct SweepMark {
  char axis = 'x';  // 'x' or 'y'
  double at = 0;
  std::string label;
};

struct SweepFigure {
  std::size_t x = 0;
  std::optional<std::size_t> y;  // none: one row
  std::string metric, layer, name;
  std::optional<bool> log_color;  // none: log for RD and losses when every value is positive
  std::vector<std::pair<std::size_t, std::size_t>> where;  // (axis, value) every run must have
  std::vector<SweepMark> marks;
};

struct Sweep {
  std::filesystem::path file;
  std::string title, description;
  std::vector<SweepAxis> axes;
  std::vector<SweepRun> runs;
  std::vector<SweepFigure> figures;
  bool run_reports = true;
  // Keys set that have no effect on the runs (series_warnings); print_plan shows them.
  std::vector<std::string> warnings;
};

struct SweepOptions {
  std::vector<std::string> overrides;  // --set, applied to every run last
  bool quick = false;
};

// Reads a sweep file and resolves every run. Throws InputError naming the file, line and key of a
// malformed [sweep] (an unknown axis key, an empty axis, ...) before anything is trained. A value
// the config rejects (lr = -1) does not throw: that run carries the error and is recorded as
// failed.
Sweep load_sweep(const std::filesystem::path& file, const SweepOptions& options);

// How a sweep's runs are spread over this machine.
struct SweepSchedule {
  int workers = 0;            // worker processes; 0: one per core, at most one per run
  int threads = 0;            // threads per worker; 0: the cores shared among the workers
  int shard = 0, shards = 1;  // this process takes the runs i with i % shards == shard
  bool quiet = false;
};

struct SweepOutcome {
  // Trained to the end, diverged (a result, not a failure: kept and not retrained), finished
  // before this command, failed (invalid settings, an error, a killed worker).
  int trained = 0, diverged = 0, kept = 0, failed = 0;
  bool interrupted = false;
};

// Whether run `index` is finished already: completed or diverged with the same settings.
bool sweep_run_done(const Sweep& sweep, std::size_t index, const std::filesystem::path& out);

// OUT/errors/<name>.txt: why run `name` last failed (series/series_run.hpp, recorded_error).
std::filesystem::path sweep_error_file(const std::filesystem::path& out, const std::string& name);
// OUT/jobs/<name>.toml: the resolved config a worker trains.
std::filesystem::path sweep_job_file(const std::filesystem::path& out, const std::string& name);

// Writes run `index`'s resolved config to its job file and returns its text: what its worker
// trains, whatever becomes of the sweep file meanwhile.
std::string write_sweep_job(const Sweep& sweep, std::size_t index,
                            const std::filesystem::path& out);

struct SweepJobOptions {
  int threads = 0;  // > 0: this many threads, whatever the config says
  bool report = true;
  bool quiet = false;
};
// Trains the run `name` of the sweep in OUT from its resolved config text (a worker process reads
// it from its job file; an MPI rank receives it), keeping, resuming or retraining as its directory
// says (series/series_run.hpp). Writes OUT/errors/<name>.txt when it fails and removes it when it
// completes. Returns 0, kExitDiverged, kExitInterrupted or kExitBadInput.
int train_sweep_job(const std::filesystem::path& out, const std::string& name,
                    const std::string& config_text, const SweepJobOptions& options);

// What is left of a sweep for this process: its shard's runs, split into those to train, those
// finished already and those whose settings are invalid (failed without training). An invalid
// run's error goes to OUT/errors/<run>.txt like any failure's.
struct SweepPlan {
  std::vector<std::size_t> pending, invalid;
  int runs = 0, kept = 0;  // kept: finished before (completed or diverged, same settings)
};
SweepPlan plan_sweep(const Sweep& sweep, const std::filesystem::path& out, int shard, int shards);

// Prints the sweep's warnings, "condense: sweep "<title>"<where>: N runs: F finished already, I
// with invalid settings, P to train on <how>", then each invalid run's error.
void print_plan(const Sweep& sweep, const SweepPlan& plan, const std::string& where,
                const std::string& how);

// Trains the pending runs with worker processes (`condense sweep-job OUT NAME`), recording
// each failure, and keeps sweep.csv current; then, unless it is one shard of several, writes the
// summary. Stops starting runs on SIGINT/SIGTERM, passes the signal on to the workers (which
// save their checkpoints) and waits for them.
SweepOutcome run_sweep_local(const Sweep& sweep, const std::filesystem::path& out,
                             const SweepSchedule& schedule);

// The table of a sweep: one row per run, kept in memory so that a finished run only costs its
// own row. `refresh(i)` rereads run i's directory; `write()` writes OUT/sweep.csv atomically.
class SweepTable {
 public:
  SweepTable(const Sweep& sweep, std::filesystem::path out);
  void refresh(std::size_t index);
  void write() const;
  const std::vector<RunRow>& rows() const { return rows_; }
  const std::vector<std::string>& notes() const { return notes_; }
  const std::filesystem::path& out() const { return out_; }

 private:
  const Sweep& sweep_;
  std::filesystem::path out_;
  std::vector<RunRow> rows_;
  std::vector<std::string> notes_;
};

// sweep.csv, the phase diagrams and report.html from `table` (current: what a sweep kept while
// it ran), or from the run directories as they are.
void write_sweep_summary(const Sweep& sweep, const SweepTable& table, bool quiet);
void write_sweep_summary(const Sweep& sweep, const std::filesystem::path& out, bool quiet);

// The sweep spread over the ranks of an MPI job (series/sweep_mpi.cpp): rank 0 hands out runs one
// at a time and writes the summary, the other ranks train. Called only under mpirun.
SweepOutcome run_sweep_mpi(const Sweep& sweep, const std::filesystem::path& out,
                           const SweepSchedule& schedule);
// Whether this process was started by mpirun with more than one rank.
bool launched_by_mpi();

}  // namespace condense
