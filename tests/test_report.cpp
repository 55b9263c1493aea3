// Figures and the HTML report (docs/report.md): condense report and condense compare on real,
// small training runs, and on run directories with files missing. The browser check of
// report.html is tests/browser/check_report.py, run by CTest (tests/CMakeLists.txt).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "condense/core/atomic_file.hpp"
#include "condense/core/base64.hpp"
#include "condense/core/csv.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "condense/report/html_report.hpp"
#include "condense/report/measured.hpp"
#include "condense/report/run_data.hpp"
#include "run_condense.hpp"

namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {

// The two-layer CNN (docs/science.md §2.1) on 200 Fashion-MNIST images: condenses in 100 steps.
constexpr const char* kTinyCnn = R"(seed = 3
dtype = "float64"
[data]
dataset = "fashion-mnist"
train_size = 200
test_size = 200
normalize = "standard"
target = "binary"
positive_classes = [0, 1, 2, 3, 4]
[model]
conv = [{ channels = 8, kernel = 3, stride = 1, padding = 1 }]
activation = "tanh"
[init]
std = 1e-6
[train]
optimizer = "gd"
lr = 0.005
steps = 150
)";

// PNG width and height from the IHDR chunk.
std::pair<int, int> png_size(const fs::path& path) {
  const std::string bytes = condense::read_file(path);
  EXPECT_GE(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  auto be32 = [&](std::size_t at) {
    return int((unsigned char)bytes[at] << 24 | (unsigned char)bytes[at + 1] << 16 |
               (unsigned char)bytes[at + 2] << 8 | (unsigned char)bytes[at + 3]);
  };
  return {be32(16), be32(20)};
}

long occurrences(const std::string& text, const std::string& what) {
  long count = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++count;
  return count;
}

class Report : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("condense_report_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    condense::write_file_atomic(root_ / "tiny.toml", kTinyCnn);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  // A trained run, shared by the tests that only read it; copied for those that damage it.
  static fs::path trained(const std::string& name, const std::string& extra = "") {
    const fs::path run = root_ / name;
    if (!fs::exists(run / "summary.json")) {
      const auto r = condense_test::run("train " + (root_ / "tiny.toml").string() +
                                        " --quiet --out " + run.string() + " " + extra);
      EXPECT_EQ(r.code, 0) << r.output;
    }
    return run;
  }
  static fs::path copy_of(const fs::path& run, const std::string& name) {
    const fs::path copy = root_ / name;
    fs::remove_all(copy);
    fs::copy(run, copy, fs::copy_options::recursive);
    fs::remove_all(copy / "figures");
    fs::remove(copy / "report.html");
    return copy;
  }

  static inline fs::path root_;
};

TEST_F(Report, TrainEndsWithFiguresAndReport) {
  const fs::path run = trained("base");
  for (const std::string figure :
       {"heatmaps_conv1", "training", "condensation", "alignment", "kernels"}) {
    SCOPED_TRACE(figure);
    const fs::path png = run / "figures" / (figure + ".png");
    ASSERT_TRUE(fs::exists(png));
    EXPECT_GT(fs::file_size(png), 8000u);
    const std::string pdf = condense::read_file(run / "figures" / (figure + ".pdf"));
    EXPECT_EQ(pdf.substr(0, 5), "%PDF-");
    EXPECT_GT(pdf.size(), 3000u);
    const std::string script = condense::read_file(run / "figures" / (figure + ".gp"));
    EXPECT_THAT(script, HasSubstr("pdfcairo"));
    EXPECT_THAT(script, HasSubstr("pngcairo"));
    EXPECT_FALSE(fs::exists(run / "figures" / (figure + ".png.tmp")));
  }
  // Paper size: the alignment figure is 5.5 × 3.4 in, drawn at 150 dpi.
  EXPECT_EQ(png_size(run / "figures" / "alignment.png"), std::make_pair(825, 510));
  // Every figure is in the page, as an embedded image.
  const std::string html = condense::read_file(run / "report.html");
  EXPECT_EQ(std::count(html.begin(), html.end(), '\0'), 0);
  EXPECT_EQ(occurrences(html, "src=\"data:image/png;base64,"), 5);
  // Nothing is fetched: no src or href to anything but data: (file links are plain text).
  EXPECT_EQ(occurrences(html, "src=\""), 5);
  EXPECT_EQ(occurrences(html, "href=\""), 0);
  EXPECT_THAT(html, HasSubstr("id=\"step-slider\""));
  EXPECT_THAT(html, HasSubstr("canvas class=\"heatmap\" data-layer=\"conv1\""));
  EXPECT_THAT(html, HasSubstr("t_align(1e-2)"));
  EXPECT_THAT(html, HasSubstr("Resolved config"));
  EXPECT_THAT(html, ::testing::Not(HasSubstr("id=\"report-notes\"")));
}

// track.save_cosines = false: the measures are kept, the page says why it has no heatmaps, and
// `condense analyze` writes the matrices from the snapshots so that the next report has them.
TEST_F(Report, WithoutCosineMatricesThePageSaysSoAndAnalyzeBringsThemBack) {
  const fs::path run = copy_of(trained("no_cosines", "--set track.save_cosines=false"), "no_cosines_copy");
  EXPECT_FALSE(fs::exists(run / "cosines"));
  auto r = condense_test::run("report " + run.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("track.save_cosines = false"));
  const std::string html = condense::read_file(run / "report.html");
  EXPECT_THAT(html, HasSubstr("track.save_cosines = false: no cosine matrices"));
  EXPECT_THAT(html, ::testing::Not(HasSubstr("id=\"step-slider\"")));
  EXPECT_TRUE(fs::exists(run / "figures" / "condensation.png"));
  EXPECT_FALSE(fs::exists(run / "figures" / "heatmaps_conv1.png"));
  const condense::RunData data = condense::load_run(run);
  EXPECT_EQ(data.layers, std::vector<std::string>{"conv1"});  // from analysis.csv

  r = condense_test::run("analyze " + run.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(run / "cosines"));
  r = condense_test::run("report " + run.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(run / "figures" / "heatmaps_conv1.png"));
  EXPECT_THAT(condense::read_file(run / "report.html"), HasSubstr("id=\"step-slider\""));
}

TEST_F(Report, SliderCarriesEverySnapshotOfEveryLayer) {
  const fs::path run = trained("base");
  const condense::RunData data = condense::load_run(run);
  ASSERT_GE(data.cosine_steps.size(), 20u);
  const std::string html = condense::read_file(run / "report.html");
  const std::string opening = "<script type=\"application/json\" id=\"slider-data\">";
  const std::size_t begin = html.find(opening);
  ASSERT_NE(begin, std::string::npos);
  const std::size_t end = html.find("</script>", begin);
  const auto slider =
      nlohmann::json::parse(html.substr(begin + opening.size(), end - begin - opening.size()));
  EXPECT_EQ(slider["steps"].get<std::vector<long>>(), data.cosine_steps);
  ASSERT_EQ(slider["layers"].size(), 1u);
  const auto& conv1 = slider["layers"][0];
  EXPECT_EQ(conv1["name"], "conv1");
  EXPECT_EQ(conv1["side"], 8);
  ASSERT_EQ(conv1["matrices"].size(), data.cosine_steps.size());
  // The last matrix, decoded, is the final cosine matrix in the final clustering order.
  const auto final = condense::load_cosines(data, data.cosine_steps.back(), "conv1", nullptr);
  ASSERT_TRUE(final);
  const std::string encoded = conv1["matrices"].back();
  std::string expected;
  for (long i = 0; i < 8; ++i)
    for (long j = 0; j < 8; ++j)
      expected += char(std::lround(
          (final->cosines(final->order[std::size_t(i)], final->order[std::size_t(j)]) + 1) *
          127.5));
  EXPECT_EQ(encoded, condense::base64_encode(expected));
}

// An order file holding NaN or a huge value is named as not a permutation, with the value (made a
// long first, it was undefined behaviour, caught by the sanitizer build).
TEST_F(Report, ACosineOrderOfNaNOrHugeValuesIsNamed) {
  const fs::path run = copy_of(trained("base"), "damaged_order");
  const condense::RunData data = condense::load_run(run);
  const long step = data.cosine_steps.back();
  const fs::path order = run / "cosines" / ("step_" + std::to_string(step)) / "conv1.order.npy";
  for (const double bad : {std::nan(""), 1e300, -0.5}) {
    std::vector<double> values(8);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = double(i);
    values[3] = bad;
    condense::write_npy(order, values.data(), {8});
    std::vector<std::string> notes;
    EXPECT_FALSE(condense::load_cosines(data, step, "conv1", &notes)) << bad;
    ASSERT_EQ(notes.size(), 1u) << bad;
    EXPECT_THAT(notes[0], HasSubstr("conv1.order.npy: not a permutation of 0..7 (holds ")) << bad;
  }
}

TEST_F(Report, PredictionTableMeasuresTheTimeScales) {
  const condense::RunData data = condense::load_run(trained("base"));
  const auto measured = condense::measure_time_scales(data);
  ASSERT_EQ(measured.scales.size(), 3u);
  for (const auto& s : measured.scales) {
    SCOPED_TRACE(s.name);
    ASSERT_TRUE(std::isfinite(s.predicted));
    ASSERT_GT(s.measured, 0);
    // The theory's time scales hold to a factor of two on this run (docs/theory.md).
    EXPECT_GE(double(s.measured), s.predicted / 2);
    EXPECT_LE(double(s.measured), s.predicted * 2);
  }
  EXPECT_THAT(measured.orientations_note, HasSubstr("orientations"));
}

TEST_F(Report, ChosenStepsAndLogAxis) {
  const fs::path run = copy_of(trained("base"), "steps");
  const auto r = condense_test::run("report " + run.string() + " --steps 0,40,77 --log-x --no-pdf");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string script = condense::read_file(run / "figures" / "heatmaps_conv1.gp");
  EXPECT_THAT(script, HasSubstr("title 'cosines between the kernels of conv1'"));
  EXPECT_THAT(script, HasSubstr("set title 'step 0'"));
  EXPECT_THAT(script, HasSubstr("set title 'step 40'"));
  EXPECT_FALSE(fs::exists(run / "figures" / "heatmaps_conv1.pdf"));
  EXPECT_THAT(condense::read_file(run / "figures" / "condensation.gp"),
              HasSubstr("set logscale x"));
  // 77 has no snapshot: the nearest one is shown, and the user is told.
  EXPECT_THAT(r.output, HasSubstr("step 77 has no snapshot"));
  const auto bad = condense_test::run("report " + run.string() + " --steps -4");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.output, HasSubstr("--steps: -4 is negative"));
}

TEST_F(Report, MissingFilesAreNamedAndTheRestIsShown) {
  const fs::path run = copy_of(trained("base"), "damaged");
  fs::remove(run / "metrics.csv");
  fs::remove(run / "summary.json");
  fs::remove(run / "predicted_alignment.csv");
  // An interrupted write: analysis.csv cut in the middle of a line.
  std::string analysis = condense::read_file(run / "analysis.csv");
  condense::write_file_atomic(run / "analysis.csv", analysis.substr(0, analysis.size() / 2));
  const auto r = condense_test::run("report " + run.string() + " --no-pdf");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("metrics.csv is missing"));
  EXPECT_THAT(r.output, HasSubstr("summary.json is missing"));
  EXPECT_THAT(r.output, HasSubstr("predicted_alignment.csv is missing"));
  const std::string html = condense::read_file(run / "report.html");
  EXPECT_THAT(html, HasSubstr("id=\"report-notes\""));
  EXPECT_THAT(html, HasSubstr("metrics.csv is missing"));
  // What exists is still drawn: heatmaps, condensation and kernel figures, the slider.
  EXPECT_TRUE(fs::exists(run / "figures" / "heatmaps_conv1.png"));
  EXPECT_TRUE(fs::exists(run / "figures" / "condensation.png"));
  EXPECT_FALSE(fs::exists(run / "figures" / "training.png"));
  EXPECT_THAT(html, HasSubstr("id=\"step-slider\""));
}

// summary.json is read field by field: a damaged one is named, and the rest of the run is shown.
TEST_F(Report, ADamagedSummaryIsNamedByField) {
  const fs::path run = copy_of(trained("base"), "damaged_summary");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[1, 2]", "summary.json is [1,2], expected a JSON object"},
      {R"({"status": 3})", "summary.json: \"status\" is 3, expected a string"},
      {R"({"status": "done"})", "summary.json: \"status\" is \"done\", expected \"completed\""},
      {R"({"status": "diverged", "message": 7})", "summary.json: \"message\" is 7, expected a string"},
      {R"({"status": "completed", "steps": "many"})", "\"steps\" is \"many\", expected an integer"},
      {std::string(100000, '[') + std::string(100000, ']'), "nests more than 32 levels deep"},
  };
  for (const auto& [text, expected] : cases) {
    condense::write_file_atomic(run / "summary.json", text);
    const auto r = condense_test::run("report " + run.string() + " --no-pdf");
    EXPECT_EQ(r.code, 0) << r.output.substr(0, 2000);
    EXPECT_THAT(r.output, HasSubstr("summary.json could not be read")) << text.substr(0, 40);
    EXPECT_THAT(r.output, HasSubstr(expected)) << text.substr(0, 40);
    EXPECT_TRUE(fs::exists(run / "figures" / "heatmaps_conv1.png"));
  }
}

// prediction.json too: a field of the wrong type is named, and the rest of the run is shown.
TEST_F(Report, ADamagedPredictionIsNamedByField) {
  const fs::path run = copy_of(trained("base"), "damaged_prediction");
  const std::string good = condense::read_file(run / "prediction.json");
  // The file with t_align_1e-2's steps (the first "steps" key after it) made a string.
  const auto steps_made_text = [&] {
    const std::size_t at = good.find("\"steps\":", good.find("\"t_align_1e-2\": {"));
    EXPECT_NE(at, std::string::npos);
    return good.substr(0, at) + "\"steps\": \"soon\", \"was\":" + good.substr(at + 8);
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"direction": 3})", "prediction.json: \"direction\" is 3, expected a JSON object"},
      {R"({"correlation": 5})", "prediction.json: \"correlation\" is 5, expected a JSON object"},
      {R"({"model": {"description": [1]}})",
       "prediction.json (model): \"description\" is [1], expected a string"},
      {R"({"direction": {"v1": [0.5, {}]}})",
       "prediction.json (direction): \"v1\" is [0.5,{}], expected an array of numbers"},
      {R"({"activation": {"multiplicity_p": "one"}})",
       "prediction.json (activation): \"multiplicity_p\" is \"one\", expected an integer"},
      // 2^64 − 1 once wrapped to −1.
      {R"({"activation": {"multiplicity_p": 18446744073709551615}})",
       "prediction.json (activation): \"multiplicity_p\" is 18446744073709551615, expected an "
       "integer below 2^63"},
      {R"({"warnings": "none"})", "prediction.json: \"warnings\" is \"none\", expected an array"},
      {R"({"scope": {"network": 4}})",
       "prediction.json (scope): \"network\" is 4, expected a string"},
      {steps_made_text(),
       "prediction.json (time_scales.t_align_1e-2): \"steps\" is \"soon\", expected a number"},
      {"[1]", "prediction.json is [1], expected a JSON object"},
      {R"({"direction": {"v1_bias": 1e999}})", "prediction.json: not valid JSON"},
  };
  for (const auto& [text, expected] : cases) {
    condense::write_file_atomic(run / "prediction.json", text);
    const auto r = condense_test::run("report " + run.string() + " --no-pdf");
    EXPECT_EQ(r.code, 0) << r.output.substr(0, 2000);
    EXPECT_THAT(r.output, HasSubstr("prediction.json could not be read")) << text.substr(0, 40);
    EXPECT_THAT(r.output, HasSubstr(expected)) << text.substr(0, 40);
    EXPECT_TRUE(fs::exists(run / "figures" / "heatmaps_conv1.png"));
  }
  // Fields of the right type that say little are shown as far as they go.
  condense::write_file_atomic(run / "prediction.json",
                              R"({"activation": {"name": "relu", "multiplicity_p": null}})");
  const auto r = condense_test::run("report " + run.string() + " --no-pdf");
  EXPECT_EQ(r.code, 0) << r.output.substr(0, 2000);
  EXPECT_THAT(condense::read_file(run / "report.html"),
              HasSubstr("multiplicity p = none (a kink at 0)"));
  // `analyze RUN` measures the alignment again from it: a damaged file is an input error (exit 2),
  // never an internal one (a number beyond double's range once gave exit 1).
  condense::write_file_atomic(run / "prediction.json", R"({"direction": {"v1_bias": 1e999}})");
  const auto analyzed = condense_test::run("analyze " + run.string());
  EXPECT_EQ(analyzed.code, 2) << analyzed.output;
  EXPECT_THAT(analyzed.output, HasSubstr("prediction.json: not valid JSON"));
}

TEST_F(Report, NotARunDirectory) {
  const fs::path empty = root_ / "empty";
  fs::create_directories(empty);
  auto r = condense_test::run("report " + empty.string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("not a run directory"));
  r = condense_test::run("report " + (root_ / "no_such_run").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("no such folder"));
}

TEST_F(Report, MissingGnuplotIsAClearErrorAndThePageIsStillWritten) {
  const fs::path run = copy_of(trained("base"), "no_gnuplot");
  const std::string command =
      "CONDENSE_GNUPLOT=/nonexistent/gnuplot " CONDENSE_BINARY " report " + run.string() + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 2) << output;
  EXPECT_THAT(output, HasSubstr("gnuplot was not found"));
  EXPECT_THAT(output, HasSubstr("gnuplot-nox"));
  const std::string html = condense::read_file(run / "report.html");
  EXPECT_THAT(html, HasSubstr("gnuplot was not found"));
  EXPECT_THAT(html, HasSubstr("id=\"step-slider\""));
  for (const auto& entry : fs::directory_iterator(run / "figures"))
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
}

TEST_F(Report, LargeLayersAndManySnapshotsStaySmall) {
  // 512 kernels, a snapshot at every one of 40 steps: the slider shows 256 × 256 block averages
  // and fewer snapshots, with a note, and the page stays under 30 MB.
  const fs::path run =
      trained("wide",
              "--set model.conv=[{channels=512,kernel=3,stride=1,padding=1}] "
              "--set train.steps=40 --set track.snapshots=every:1 --set data.train_size=50 "
              "--set data.test_size=50");
  const std::string html = condense::read_file(run / "report.html");
  EXPECT_LT(html.size(), 30u << 20);
  EXPECT_THAT(html, HasSubstr("block-averaged to at most 256"));
  EXPECT_THAT(html, HasSubstr("(shown 256×256)"));
  const condense::RunData data = condense::load_run(run);
  condense::HtmlOptions small;
  small.slider_budget = 1 << 20;
  const auto plan = condense::plan_slider(data, small);
  EXPECT_EQ(plan.max_side, 256);
  EXPECT_LT(plan.steps.size(), data.cosine_steps.size());
  EXPECT_EQ(plan.steps.front(), data.cosine_steps.front());
  EXPECT_EQ(plan.steps.back(), data.cosine_steps.back());
  EXPECT_EQ(png_size(run / "figures" / "heatmaps_conv1.png").first, 1125);
}

TEST_F(Report, CompareOverlaysRunsAndDrawsTheirFinalHeatmaps) {
  const fs::path small = trained("base");
  const fs::path large = trained("large_init", "--set init.std=1e-2");
  const fs::path out = root_ / "comparison";
  const auto r =
      condense_test::run("compare " + small.string() + " " + large.string() +
                         " --metric align_v1 --labels 'std 1e-6,std 1e-2' --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  for (const std::string f : {"compare_align_v1", "final_heatmaps"}) {
    EXPECT_GT(fs::file_size(out / (f + ".png")), 8000u) << f;
    EXPECT_EQ(condense::read_file(out / (f + ".pdf")).substr(0, 5), "%PDF-") << f;
  }
  const condense::CsvTable table = condense::read_csv(out / "compare.csv");
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0][0], "std 1e-6");
  // The small initialization aligns with v1; the large one does not get close.
  EXPECT_GT(table.number(0, table.column("max")), 0.999);
  EXPECT_LT(table.number(1, table.column("max")), 0.95);
  const std::string script = condense::read_file(out / "compare_align_v1.gp");
  EXPECT_THAT(script, HasSubstr("'std 1e-2'"));
  EXPECT_THAT(script, HasSubstr("predicted"));
}

TEST_F(Report, CompareRejectsBadInput) {
  const fs::path run = trained("base");
  auto r = condense_test::run("compare " + run.string() + " --metric alignment");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("unknown metric \"alignment\""));
  EXPECT_THAT(r.output, HasSubstr("align_v1"));
  r = condense_test::run("compare " + run.string() + " " + run.string() + " --labels a --out " +
                         (root_ / "c2").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("1 labels for 2 runs"));
  r = condense_test::run("compare " + run.string() + " " + (root_ / "nothing").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("not a run directory"));
}

TEST_F(Report, FullyConnectedAndThreeChannelRuns) {
  // A two-layer FC net on the sin data: the 50 neurons' heatmap, no kernel images.
  condense::write_file_atomic(root_ / "fc.toml", R"(seed = 0
[data]
dataset = "sin"
train_size = 80
target = "regression"
[model]
conv = []
hidden = [50]
activation = "tanh"
bias = true
[init]
std = 0.005
[train]
optimizer = "adam"
lr = 1e-3
steps = 60
[track]
with_bias = true
)");
  const fs::path fc = root_ / "fc";
  auto r =
      condense_test::run("train " + (root_ / "fc.toml").string() + " --quiet --out " + fc.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(fc / "figures" / "heatmaps_fc1.png"));
  EXPECT_TRUE(fs::exists(fc / "figures" / "alignment.png"));
  EXPECT_FALSE(fs::exists(fc / "figures" / "kernels.png"));
  EXPECT_THAT(condense::read_file(fc / "report.html"), HasSubstr("data-layer=\"fc1\""));

  // Three input channels: the kernels are drawn as RGB images next to v1.
  const fs::path rgb = root_ / "rgb";
  r = condense_test::run("train " + (root_ / "tiny.toml").string() + " --quiet --out " +
                         rgb.string() +
                         " --set data.dataset=gaussian --set data.gaussian_shape=[3,8,8] "
                         "--set data.target=onehot --set train.steps=40");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string script = condense::read_file(rgb / "figures" / "kernels.gp");
  EXPECT_THAT(script, HasSubstr("with rgbimage"));
  EXPECT_THAT(script, HasSubstr("'v_1'"));
  EXPECT_GT(fs::file_size(rgb / "figures" / "kernels.png"), 5000u);
}

TEST(Csv, ReadsFieldsAndNamesBadOnes) {
  const fs::path path =
      fs::temp_directory_path() / ("condense_csv_" + std::to_string(getpid()) + ".csv");
  condense::write_file_atomic(path, "step,loss\n0,1.5\n1,\n2,abc\n");
  const condense::CsvTable t = condense::read_csv(path);
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.number(0, t.column("loss")), 1.5);
  EXPECT_TRUE(std::isnan(t.number(1, 1)));
  try {
    t.number(2, 1);
    ADD_FAILURE() << "no error for abc";
  } catch (const condense::InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr(".csv:4: column loss is \"abc\""));
  }
  EXPECT_THROW(t.column("accuracy"), condense::InputError);
  condense::write_file_atomic(path, "a,b\n1,2,3\n");
  EXPECT_THROW(condense::read_csv(path), condense::InputError);
  // A line cut short is damage too, not a row with empty fields: "0.7" of "0.7237" would read
  // as a number. Reports read up to it and say where they stopped.
  condense::write_file_atomic(path, "a,b\n1,2\n\n3,4\n5\n6,7\n");
  try {
    condense::read_csv(path);
    ADD_FAILURE() << "no error for a short line";
  } catch (const condense::InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr(".csv:5: the line has 1 fields, the header has 2 (the line "
                                    "is cut short)"));
  }
  const condense::CsvTable partial = condense::read_csv(path, condense::CsvDamage::stop);
  ASSERT_EQ(partial.rows.size(), 2u);
  EXPECT_EQ(partial.lines, (std::vector<long>{2, 4}));
  EXPECT_THAT(partial.damage, HasSubstr(".csv:5: the line has 1 fields"));
  EXPECT_EQ(partial.integer(1, 0), 3);
  EXPECT_THROW((void)t.integer(1, 1), condense::InputError);  // an empty field is no integer
  // Quoted fields keep their commas and doubled quotes.
  condense::write_file_atomic(path, "label,x\n\"tanh, Xavier\",1\n\"say \"\"hi\"\"\",2\n");
  const condense::CsvTable quoted = condense::read_csv(path);
  ASSERT_EQ(quoted.rows.size(), 2u);
  EXPECT_EQ(quoted.rows[0][0], "tanh, Xavier");
  EXPECT_EQ(quoted.rows[1][0], "say \"hi\"");
  EXPECT_EQ(quoted.number(1, 1), 2.0);
  fs::remove(path);
}

TEST(Base64, MatchesRfc4648Vectors) {
  EXPECT_EQ(condense::base64_encode(""), "");
  EXPECT_EQ(condense::base64_encode("f"), "Zg==");
  EXPECT_EQ(condense::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(condense::base64_encode("foo"), "Zm9v");
  EXPECT_EQ(condense::base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(condense::base64_encode(std::string("\xff\x00\x80", 3)), "/wCA");
}

}  // namespace
