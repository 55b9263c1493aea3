// The config's checks: every mistake of a file (and of its --set overrides, and of the experiment
// and sweep files that embed a config) is reported in one error, one line each, naming where it
// was written, the key, what was expected and the value as written; a run needs a step; a
// per-layer init names a layer of the model; keys set that have no effect on the run are warnings
// (never errors, never changes of the config), and a resolved config.toml warns only about what
// was set. The shipped configs, experiments and sweeps load without a warning.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "condense/series/experiment.hpp"
#include "condense/series/sweep.hpp"
#include "condense/config/config.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

using Strings = std::vector<std::string>;

fs::path scratch(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("condense_config_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

fs::path write(const fs::path& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir / name) << text;
  return dir / name;
}

// The message of the InputError that `load` throws ("" if it throws none).
template <class Load>
std::string error_of(Load load) {
  try {
    load();
  } catch (const condense::InputError& e) {
    return e.what();
  }
  return "";
}

std::string config_error(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return error_of([&] { condense::load_config_text(text, "c.toml", overrides); });
}

std::vector<std::string> warnings_of(const std::string& text,
                                     const std::vector<std::string>& overrides = {}) {
  return condense::load_config_text_and_warnings(text, "c.toml", {}, {}, overrides).warnings;
}

const char* kMistakes = R"(seed = 1
[data]
train_size = -5
[model]
hiden = [3]
[train]
lr = -0.1
eps = "small"
lrate = 3
steps = 0
[trian]
x = 1
)";

}  // namespace

TEST(ConfigErrors, EveryMistakeOfAFileAndItsOverridesInOneError) {
  const std::string message =
      config_error(kMistakes, {"train.betas=[0.9, 1.5]", "foo.bar=1", "init.std=1e-8x"});
  EXPECT_EQ(message,
            "the config has 10 errors:\n"
            "  c.toml:3: data.train_size must be an integer ≥ 0, got -5\n"
            "  c.toml:5: unknown key model.hiden (did you mean model.hidden?)\n"
            "  c.toml:7: train.lr must be a positive number, got -0.1\n"
            "  c.toml:8: train.eps must be a number, got \"small\"\n"
            "  c.toml:9: unknown key train.lrate (did you mean train.lr?)\n"
            "  c.toml:10: train.steps must be an integer ≥ 1 (a run needs at least one step; or "
            "set train.epochs > 0), got 0\n"
            "  c.toml:11: unknown key trian (did you mean train?)\n"
            "  --set train.betas=[0.9, 1.5]: train.betas must be two numbers in [0, 1), got "
            "[0.9, 1.5]\n"
            "  --set foo.bar=1: unknown key foo.bar\n"
            "  --set init.std=1e-8x: init.std must be a number, got \"1e-8x\"");
  // One mistake keeps the one-line form.
  EXPECT_EQ(config_error("[train]\nlr = \"fast\"\n"),
            "c.toml:2: train.lr must be a number, got \"fast\"");
}

TEST(ConfigErrors, ASyntaxErrorStopsThere) {
  const std::string message = config_error("[train]\nlr = -1\nsteps = = 3\n", {"foo=1"});
  EXPECT_THAT(message, HasSubstr("c.toml:3:"));
  EXPECT_THAT(message, Not(HasSubstr("train.lr")));
  EXPECT_THAT(message, Not(HasSubstr("foo")));
}

TEST(ConfigErrors, ValuesAppearAsWritten) {
  EXPECT_EQ(config_error("[train]\nmomentum = -0.1\n"),
            "c.toml:2: train.momentum must be a number in [0, 1), got -0.1");
  EXPECT_EQ(config_error("[train]\nweight_decay = -1e-8 # tiny\n"),
            "c.toml:2: train.weight_decay must be a number ≥ 0, got -1e-8");
  EXPECT_EQ(config_error("", {"init.gamma=-2.50"}),
            "--set init.gamma=-2.50: init.gamma must be a number ≥ 0, got -2.50");
  EXPECT_EQ(config_error("[model]\nconv = [{ channels = 4, kernel = 2.5e0 }]\n"),
            "c.toml:2 (model.conv[0]): kernel must be an integer ≥ 1, got 2.5e0");
  EXPECT_EQ(config_error("[data]\ndataset = \"sin\"\ntarget = \"regression\"\nsin_low = 3.0\n"),
            "c.toml:4: data.sin_low must be less than data.sin_high = 2.0, got 3.0");
  EXPECT_EQ(config_error("[model]\nhidden = [50, -3]\n"),
            "c.toml:2: model.hidden must be an array of positive widths, got [50, -3]");
}

// Values beyond what condense holds name the bound they broke, with file and line (a channel count
// of 2^63 − 1 once read "got -1").
TEST(ConfigErrors, TooLargeIntegersNameTheUpperBound) {
  EXPECT_EQ(config_error("[model]\nconv = [{ channels = 9223372036854775807, kernel = 3 }]\n"),
            "c.toml:2 (model.conv[0]): channels must be an integer in [1, 2147483647], got "
            "9223372036854775807");
  EXPECT_EQ(config_error("[data]\ntrain_size = 3000000000\n"),
            "c.toml:2: data.train_size must be an integer in [0, 2147483647], got 3000000000");
  EXPECT_EQ(config_error("[train]\nepochs = 9223372036854775807\n"),
            "c.toml:2: train.epochs must be an integer in [0, 9007199254740992], got "
            "9223372036854775807");
  EXPECT_EQ(config_error("[model]\nhidden = [1e3]\n"),
            "c.toml:2: model.hidden must be an array of integers, got [1e3]");
}

TEST(ConfigErrors, DataChecksNameWhereTheKeyWasSet) {
  EXPECT_EQ(
      config_error("[data]\ndataset = \"sin\"\ntarget = \"regression\"\nsubset = \"balanced\"\n"),
      "c.toml:4: data.subset = \"balanced\" does not apply to sin: its points are drawn, "
      "not selected");
}

TEST(ConfigErrors, ARunNeedsAStep) {
  EXPECT_THAT(config_error("", {"train.steps=0"}), HasSubstr("a run needs at least one step"));
  // With epochs the length comes from the data, and steps is not read.
  EXPECT_EQ(config_error("", {"train.steps=0", "train.epochs=2"}), "");
}

TEST(ConfigErrors, APerLayerInitNamesALayerOfTheModel) {
  EXPECT_EQ(config_error("[model]\nconv = []\nhidden = [8]\n[init.layers.conv1]\nstd = 0.1\n"),
            "c.toml:5: init.layers.conv1: the model has no layer conv1; its layers are fc1, fc2");
  EXPECT_EQ(config_error("[init.layers.fc1]\nscheme = \"xavier-normal\"\n"), "");
}

// An experiment's run settings and a sweep's shared part keep every line of the config's error.
TEST(ConfigErrors, ExperimentsAndSweepsShowEveryLine) {
  const fs::path dir = scratch("embedded");
  const std::string base = "[train]\nlr = -1\nsteps = 0\n";
  const fs::path experiment = write(dir, "exp.toml", base + R"([experiment]
title = "t"
[[experiment.runs]]
label = "a"
set = ["train.momentum=2"]
)");
  const std::string message =
      error_of([&] { condense::load_experiment(experiment, condense::ExperimentOptions{}); });
  EXPECT_THAT(message, HasSubstr("the config has 3 errors:"));
  EXPECT_THAT(message, HasSubstr("exp.toml:2: train.lr must be a positive number, got -1"));
  EXPECT_THAT(message, HasSubstr("exp.toml:3: train.steps must be an integer ≥ 1"));
  EXPECT_THAT(message,
              HasSubstr("exp.toml:8 (run a): train.momentum must be a number in [0, 1), got 2"));

  const fs::path sweep = write(dir, "sweep.toml", base + R"([sweep]
[[sweep.axes]]
key = "train.eps"
values = [1e-8, -1e-8]
)");
  const std::string shared = error_of([&] { condense::load_sweep(sweep, {}); });
  EXPECT_THAT(shared, HasSubstr("no run of the sweep has a valid config"));
  EXPECT_THAT(shared, HasSubstr("sweep.toml:2: train.lr must be a positive number, got -1"));
  EXPECT_THAT(shared, HasSubstr("sweep.toml:3: train.steps must be an integer ≥ 1"));

  write(dir, "sweep.toml", R"([train]
steps = 10
[sweep]
[[sweep.axes]]
key = "train.lr"
values = [0.1, -1]
[[sweep.axes]]
key = "train.momentum"
values = [0, 2]
zip = "train.lr"
)");
  condense::SweepOptions options;
  options.overrides = {"train.optimizer=sgd"};
  const condense::Sweep loaded = condense::load_sweep(sweep, options);
  EXPECT_TRUE(loaded.runs[0].config.has_value());
  const std::string at = sweep.string();
  EXPECT_EQ(loaded.runs[1].error,
            "the config has 2 errors:\n  " + at +
                " (axis train.lr): train.lr must be a positive number, got -1\n  " + at +
                " (axis train.momentum): train.momentum must be a number in [0, 1), got 2");
}

// Each key that has no effect on the run warns once, naming where it was set and why.
TEST(ConfigWarnings, KeysThatDoNotApplyAreNamedWithTheirOriginAndWhy) {
  struct Case {
    std::string text;
    std::vector<std::string> overrides;
    std::string warning;
  };
  const std::vector<Case> cases = {
      {"[data]\nsin_dim = 3\n",
       {},
       "c.toml:2: data.sin_dim has no effect: it applies to data.dataset = \"sin\", and the "
       "dataset is \"fashion-mnist\""},
      {"[data]\ndataset = \"sin\"\ntarget = \"regression\"\ngaussian_classes = 4\n",
       {},
       "c.toml:4: data.gaussian_classes has no effect: it applies to data.dataset = \"gaussian\", "
       "and the dataset is \"sin\""},
      {"[data]\ndataset = \"sin\"\ntarget = \"regression\"\nnormalize = \"none\"\n",
       {},
       "c.toml:4: data.normalize has no effect: sin inputs are used as drawn, without "
       "normalization"},
      {"[data]\ntarget = \"class\"\npositive_classes = [1]\n[train]\nloss = \"cross-entropy\"\n",
       {},
       "c.toml:3: data.positive_classes has no effect: it applies to data.target = \"binary\", and "
       "the target is \"class\""},
      {"[train]\noptimizer = \"adam\"\nmomentum = 0.9\n",
       {},
       "c.toml:3: train.momentum has no effect: it applies to optimizer = \"sgd\", and the "
       "optimizer is \"adam\""},
      {"[train]\noptimizer = \"sgd\"\n",
       {"train.betas=[0.8, 0.9]"},
       "--set train.betas=[0.8, 0.9]: train.betas has no effect: it applies to optimizer = "
       "\"adam\", and the optimizer is \"sgd\""},
      {"[train]\noptimizer = \"sgd\"\ndampening = 0.5\n",
       {},
       "c.toml:3: train.dampening has no effect: it applies with train.momentum > 0, and momentum "
       "is 0"},
      {"[train]\nstep_size = 10\n",
       {},
       "c.toml:2: train.step_size has no effect: it applies to schedule = \"step\", and the "
       "schedule is \"constant\""},
      {"[train]\nschedule = \"step\"\nmin_lr = 1e-4\n",
       {},
       "c.toml:3: train.min_lr has no effect: it applies to schedule = \"cosine\", and the "
       "schedule is \"step\""},
      {"[train]\nsteps = 300\nepochs = 2\n",
       {},
       "c.toml:2: train.steps has no effect: train.epochs = 2 sets the length of the run"},
      {"[model]\nconv = []\nhidden = [20]\nresidual = true\n",
       {},
       "c.toml:4: model.residual has no effect: the residual blocks are the hidden layers after "
       "the first, and model.hidden has 1 layer"},
      {"[model]\nconv = []\nhidden = [20]\npool = \"avg2\"\n",
       {},
       "c.toml:4: model.pool has no effect: the model has no conv layers (model.conv = [])"},
      {"[init]\ngamma = 0.5\nstd = 1e-3\n",
       {},
       "c.toml:3: init.std has no effect: init.gamma = 0.5 > 0 sets the standard deviation "
       "(fan^-gamma)"},
      {"[init]\nscheme = \"xavier-normal\"\nstd = 1e-3\n",
       {},
       "c.toml:3: init.std has no effect: init.scheme = \"xavier-normal\" sets its own standard "
       "deviation"},
      {"[init]\nfan = \"out\"\n",
       {},
       "c.toml:2: init.fan has no effect: it applies with init.gamma > 0, and no layer's standard "
       "deviation comes from init.gamma"},
      {"[track]\nsnapshots = \"every:10\"\nper_decade = 5\n",
       {},
       "c.toml:3: track.per_decade has no effect: it applies to track.snapshots = \"log\", and "
       "snapshots is \"every:10\""},
      {"[track]\nwith_bias = true\n",
       {},
       "c.toml:2: track.with_bias has no effect: the model has no biases (model.bias = false)"},
      {"[train]\nsteps = 100\n[track]\nextra_steps = [50, 150, 300]\n",
       {},
       "c.toml:4: track.extra_steps has no effect: the run ends at step 100 (train.steps), before "
       "steps 150, 300"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(warnings_of(c.text, c.overrides), Strings{c.warning}) << c.text;
}

// A key holding its default has no effect to warn about; a per-layer override that sets a key
// takes the [init] key's place only for its layer.
TEST(ConfigWarnings, DefaultsAndKeysThatApplyAreSilent) {
  EXPECT_EQ(warnings_of("[train]\noptimizer = \"adam\"\nmomentum = 0.0\nbetas = [0.8, 0.9]\n"),
            Strings{});
  EXPECT_EQ(warnings_of("[train]\noptimizer = \"sgd\"\nmomentum = 0.9\ndampening = 0.1\n"),
            Strings{});
  EXPECT_EQ(warnings_of("[init]\ngamma = 0.5\nfan = \"out\"\n[init.layers.fc1]\nstd = 0.1\n"),
            Strings{});
  EXPECT_EQ(warnings_of("[init]\nstd = 1e-6\n[init.layers.conv1]\nscheme = \"xavier-normal\"\n"),
            Strings{});
  EXPECT_EQ(warnings_of("[data]\ndataset = \"sin\"\ntarget = \"regression\"\nsin_dim = 3\n"),
            Strings{});
}

// Warnings leave the config as it is. Its resolved form (a run's config.toml, every key written
// out) read as a config warns only about the keys that were set and have no effect; read as a
// run's config.toml (resume), whose keys were checked when the run began, only the overrides warn.
TEST(ConfigWarnings, TheResolvedConfigWarnsOnlyAboutWhatWasSet) {
  const std::string text =
      "[data]\ndataset = \"gaussian\"\ngaussian_shape = [1, 6, 6]\npositive_classes = [0]\n"
      "sin_dim = 3\n[model]\nconv = [{ channels = 4, kernel = 3 }]\n"
      "[init]\nscheme = \"normal\"\nstd = 1e-6\n[init.layers.fc1]\nscheme = \"xavier-normal\"\n"
      "[train]\noptimizer = \"sgd\"\nmomentum = 0.9\nbatch_size = 10\nschedule = \"cosine\"\n"
      "min_lr = 1e-4\n";
  const condense::LoadedConfig loaded =
      condense::load_config_text_and_warnings(text, "c.toml", {}, {}, {});
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_THAT(loaded.warnings[0], HasSubstr("c.toml:5: data.sin_dim has no effect"));
  const std::string resolved = condense::to_toml(loaded.config);
  EXPECT_EQ(resolved, condense::to_toml(condense::load_config_text(text, "c.toml", {})));
  EXPECT_THAT(resolved, HasSubstr("sin_dim = 3"));
  const condense::LoadedConfig again =
      condense::load_config_text_and_warnings(resolved, "run/config.toml", {}, {}, {});
  ASSERT_EQ(again.warnings.size(), 1u);
  EXPECT_THAT(again.warnings[0], HasSubstr("data.sin_dim has no effect"));
  EXPECT_EQ(condense::to_toml(again.config), resolved);

  const condense::LoadedConfig resumed = condense::load_run_config_and_warnings(
      resolved, "run/config.toml", {"train.steps=2000", "train.betas=[0.5, 0.6]"});
  EXPECT_EQ(resumed.warnings,
            Strings{"--set train.betas=[0.5, 0.6]: train.betas has no effect: it applies to "
                    "optimizer = \"adam\", and the optimizer is \"sgd\""});
  EXPECT_EQ(resumed.config.train.steps, 2000);
}

// An experiment or a sweep warns once about a key whatever the number of its runs.
TEST(ConfigWarnings, ExperimentsAndSweepsWarnOnce) {
  const fs::path dir = scratch("warn_once");
  const std::string base = "[data]\nsin_dim = 3\n";
  const fs::path experiment = write(dir, "exp.toml", base + R"([experiment]
title = "t"
[[experiment.runs]]
label = "a"
[[experiment.runs]]
label = "b"
set = ["train.optimizer=adam", "train.momentum=0.5"]
[[experiment.runs]]
label = "c"
set = ["train.lr=0.1"]
)");
  const std::string sin_dim =
      "data.sin_dim has no effect: it applies to data.dataset = \"sin\", and the dataset is "
      "\"fashion-mnist\"";
  condense::ExperimentOptions options;
  options.overrides = {"train.momentum=0"};
  const std::string exp = experiment.string();
  EXPECT_EQ(condense::load_experiment(experiment, options).warnings,
            Strings{exp + ":2: " + sin_dim});
  EXPECT_EQ(condense::load_experiment(experiment, {}).warnings,
            (Strings{exp + ":2: " + sin_dim,
                     exp + ":9 (run b): train.momentum has no effect: it applies to optimizer = "
                           "\"sgd\", and the optimizer is \"adam\""}));
  const fs::path sweep = write(dir, "sweep.toml", base + R"([train]
optimizer = "adam"
[sweep]
seeds = 2
[[sweep.axes]]
key = "train.momentum"
values = [0.5, 0.9]
)");
  EXPECT_EQ(
      condense::load_sweep(sweep, {}).warnings,
      (Strings{sweep.string() + ":2: " + sin_dim,
               sweep.string() + " (axis train.momentum): train.momentum has no effect: it applies "
                                "to optimizer = \"sgd\", and the optimizer is \"adam\""}));
  // A setting that applies to some of the runs is part of the design of the series.
  write(dir, "sweep.toml", R"([train]
momentum = 0.9
[sweep]
[[sweep.axes]]
key = "train.optimizer"
values = ["sgd", "adam"]
)");
  EXPECT_EQ(condense::load_sweep(sweep, {}).warnings, Strings{});
}

// The shipped files warn about nothing, and neither does resuming any of their runs.
TEST(ConfigWarnings, ShippedFilesLoadWithoutWarnings) {
  auto resolved_warnings = [](const condense::RunConfig& config) {
    return condense::load_run_config_and_warnings(condense::to_toml(config), "run/config.toml", {})
        .warnings;
  };
  const fs::path root(CONDENSE_SOURCE_DIR);
  for (const auto& entry : fs::directory_iterator(root / "configs")) {
    const condense::LoadedConfig loaded = condense::load_config_and_warnings(entry.path(), {});
    EXPECT_EQ(loaded.warnings, Strings{}) << entry.path();
    EXPECT_EQ(resolved_warnings(loaded.config), Strings{}) << entry.path();
  }
  int files = 0, runs = 0;
  for (const auto& entry : fs::directory_iterator(root / "experiments")) {
    if (entry.path().extension() != ".toml") continue;
    const std::string text = condense::read_file(entry.path());
    for (const bool quick : {false, true}) {
      const std::string what = entry.path().string() + (quick ? " --quick" : "");
      condense::ExperimentOptions experiment_options;
      condense::SweepOptions sweep_options;
      experiment_options.quick = sweep_options.quick = quick;
      if (text.find("\n[experiment]") != std::string::npos) {
        const condense::Experiment experiment =
            condense::load_experiment(entry.path(), experiment_options);
        EXPECT_EQ(experiment.warnings, Strings{}) << what;
        for (const auto& run : experiment.runs) {
          EXPECT_EQ(resolved_warnings(run.config), Strings{}) << what << ": " << run.label;
          ++runs;
        }
      } else {
        const condense::Sweep sweep = condense::load_sweep(entry.path(), sweep_options);
        EXPECT_EQ(sweep.warnings, Strings{}) << what;
        for (const auto& run : sweep.runs) {
          ASSERT_TRUE(run.config.has_value()) << what << ": " << run.name << ": " << run.error;
          EXPECT_EQ(resolved_warnings(*run.config), Strings{}) << what << ": " << run.name;
          ++runs;
        }
      }
    }
    ++files;
  }
  EXPECT_GT(files, 5);
  EXPECT_GT(runs, 100);
}
