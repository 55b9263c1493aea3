// Weights trained elsewhere, as `condense analyze --weights` and `condense analyze RUN` read them,
// on bad input: PyTorch files named as such, hostile safetensors headers, layers holding NaN,
// infinite or only zero values, --quiet, and hostile snapshots/index.csv files. Every case ends
// in a clear error naming the file (exit code 2) or a warning naming the tensor, never in a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "condense/analysis/weight_tensors.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "run_condense.hpp"

namespace condense {
namespace {

namespace fs = std::filesystem;
using condense_test::Result;
using condense_test::run;
using condense_test::run_shell;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class WeightsInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("condense_weights_input_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A safetensors file from the text of its header and its data.
  fs::path safetensors(const std::string& name, const std::string& header,
                       const std::string& data) const {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[std::size_t(i)] = char((header.size() >> (8 * i)) & 0xff);
    write_file_atomic(dir_ / name, bytes + header + data);
    return dir_ / name;
  }
  fs::path safetensors(const std::string& name, const nlohmann::json& header,
                       const std::string& data) const {
    return safetensors(name, header.dump(), data);
  }

  template <class V>
  static std::string raw(const std::vector<V>& values) {
    return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(V));
  }

  static std::string error_of(const std::function<void()>& action) {
    try {
      action();
    } catch (const InputError& e) {
      return e.what();
    }
    return "no error";
  }

  fs::path dir_;
};

// ---- PyTorch files ----------------------------------------------------------------------------

TEST_F(WeightsInput, PyTorchFilesAreNamedWithTheWayToConvertThem) {
  // Real files from torch.save: the zip format of PyTorch ≥ 1.6 and the legacy pickle.
  const std::string script = R"(import sys, numpy, torch
d = sys.argv[1]
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4, 2))
torch.save(model.state_dict(), f"{d}/model.pt")
torch.save(model.state_dict(), f"{d}/legacy.pth", _use_new_zipfile_serialization=False)
numpy.savez(f"{d}/arrays.npz", w=numpy.ones((2, 3)))
)";
  write_file_atomic(dir_ / "save.py", script);
  const Result saved =
      run_shell("/usr/bin/python3 " + (dir_ / "save.py").string() + " " + dir_.string());
  ASSERT_EQ(saved.code, 0) << saved.output << "\n/usr/bin/python3 needs torch (python3-torch)";
  fs::copy_file(dir_ / "model.pt", dir_ / "model.safetensors");
  fs::copy_file(dir_ / "model.pt", dir_ / "model.npy");
  fs::copy_file(dir_ / "model.pt", dir_ / "model");
  fs::copy_file(dir_ / "legacy.pth", dir_ / "legacy.safetensors");
  for (const char* name : {"model.pt", "legacy.pth", "model.safetensors", "model.npy", "model",
                           "legacy.safetensors"}) {
    const fs::path file = dir_ / name;
    const Result r = run("analyze --weights " + file.string());
    EXPECT_EQ(r.code, 2) << name;
    EXPECT_THAT(r.output, AllOf(HasSubstr(file.string() + " is a PyTorch pickle (torch.save)"),
                                HasSubstr("safetensors.torch.save_file("),
                                HasSubstr("numpy.save(f\"weights/{k}.npy\", v.numpy())")))
        << name;
    EXPECT_THAT(r.output, Not(HasSubstr("header length"))) << name;
    EXPECT_THAT(error_of([&] { read_weight_tensors(file, false); }), HasSubstr("PyTorch pickle"));
  }
  EXPECT_THAT(run("analyze --weights " + (dir_ / "arrays.npz").string()).output,
              HasSubstr("arrays.npz is an NPZ archive (numpy.savez)"));

  // A folder holding only PyTorch files says which file to give.
  fs::create_directories(dir_ / "checkpoints");
  fs::copy_file(dir_ / "model.pt", dir_ / "checkpoints/model.pt");
  Result r = run("analyze --weights " + (dir_ / "checkpoints").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("holds no .npy files, but model.pt"));

  // The NPY recipe of the message, run as printed, gives weights condense measures.
  r = run("analyze --weights " + (dir_ / "model.pt").string());
  std::string recipe = "import numpy, torch\n";
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("    state = ", 0) == 0 || line.rfind("    for k, v in", 0) == 0)
      recipe += line.substr(4) + "\n";
  ASSERT_THAT(recipe, HasSubstr("numpy.save"));
  write_file_atomic(dir_ / "recipe.py", recipe);
  fs::create_directories(dir_ / "weights");
  const Result converted = run_shell("cd " + dir_.string() + " && /usr/bin/python3 recipe.py");
  ASSERT_EQ(converted.code, 0) << recipe << converted.output;
  r = run("analyze --weights " + (dir_ / "weights").string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("(4, 1, 3, 3)"), HasSubstr("(2, 4)")));
}

// ---- Hostile safetensors headers -------------------------------------------------------------

TEST_F(WeightsInput, DeeplyNestedSafetensorsHeaderIsRefusedBeforeParsing) {
  const std::string header = R"({"w":{"dtype":"F32","shape":)" + std::string(100000, '[') +
                             std::string(100000, ']') + R"(,"data_offsets":[0,0]}})";
  const fs::path file = safetensors("deep.safetensors", header, "");
  const Result r = run("analyze --weights " + file.string());
  EXPECT_EQ(r.code, 2) << r.output.substr(0, 300);
  EXPECT_THAT(r.output, AllOf(HasSubstr(file.string()), HasSubstr("nests JSON more than 8")));
}

TEST_F(WeightsInput, SafetensorsHeadersBreakingTheFormatAreNamed) {
  const std::string f32x4 = raw(std::vector<float>{1, 2, 3, 4});
  auto entry = [](const std::string& dtype, nlohmann::json shape, nlohmann::json offsets) {
    return nlohmann::json{{"dtype", dtype}, {"shape", shape}, {"data_offsets", offsets}};
  };
  struct Case {
    std::string header;
    std::string data;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {R"({"a":)" + entry("F32", {4}, {0, 16}).dump() + R"(,"a":)" +
           entry("F32", {4}, {0, 16}).dump() + "}",
       f32x4, "names the tensor a twice"},
      {nlohmann::json{{"w", entry("F32", {-1, 4}, {0, 16})}}.dump(), f32x4,
       "tensor w: \"shape\" must list non-negative integers"},
      {nlohmann::json{{"w", entry("F32", {2.0, 2}, {0, 16})}}.dump(), f32x4,
       "\"shape\" must list non-negative integers"},
      {R"({"w":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,16]}})", f32x4,
       "\"shape\" must list non-negative integers"},
      {R"({"w":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,16]}})", f32x4,
       "below 2^63"},
      // (2^62 + 1) · 4 elements wrap around 2^64 to 4: the 16 bytes of the offsets.
      {nlohmann::json{{"w", entry("F32", {4611686018427387905ULL, 4}, {0, 16})}}.dump(), f32x4,
       "shape (4611686018427387905, 4) of F32 needs more than 2^64 bytes"},
      {R"({"w":{"dtype":5,"shape":[4],"data_offsets":[0,16]}})", f32x4, "no \"dtype\" string"},
      {R"({"w":{"dtype":"F32","shape":"4","data_offsets":[0,16]}})", f32x4, "no \"shape\" array"},
      {R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0.0,16.0]}})", f32x4,
       "\"data_offsets\" must be [begin, end]"},
      {R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[16]}})", f32x4,
       "\"data_offsets\" must be [begin, end]"},
      {R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[-1,15]}})", f32x4,
       "\"data_offsets\" must be [begin, end]"},
      {R"({"w":{"dtype":"F32","shape":[4]}})", f32x4, "got nothing"},
      {R"({"w":[1,2]})", f32x4, "tensor w: expected an object"},
      {"[1, 2]", f32x4, "must be a JSON object"},
      {R"({"__metadata__":{"format":1},"w":)" + entry("F32", {4}, {0, 16}).dump() + "}", f32x4,
       "\"__metadata__\" must map names to strings"},
      {R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"x":"\xff"})", f32x4,
       "not valid JSON"},
      {nlohmann::json{{"a", entry("F32", {4}, {0, 16})}, {"b", entry("F32", {4}, {8, 24})}}.dump(),
       f32x4 + f32x4.substr(0, 8), "tensors a and b overlap: data_offsets [0, 16] and [8, 24]"},
      {nlohmann::json{{"a", entry("F32", {2}, {0, 8})}, {"b", entry("F32", {2}, {16, 24})}}.dump(),
       f32x4 + f32x4.substr(0, 8), "bytes 8 to 16 of the data belong to no tensor"},
      {nlohmann::json{{"a", entry("F32", {2}, {0, 8})}}.dump(), f32x4,
       "16 bytes of data follow the header, but its tensors end at byte 8"},
  };
  for (const Case& c : cases) {
    const fs::path file = safetensors("bad.safetensors", c.header, c.data);
    EXPECT_THAT(error_of([&] { read_weight_tensors(file, true); }),
                AllOf(HasSubstr(file.string()), HasSubstr(c.expected)))
        << c.header.substr(0, 200);
  }
  // A header length beyond the format's limit, whatever follows.
  std::string bytes(8, '\0');
  bytes[5] = 1;  // 2^40
  write_file_atomic(dir_ / "long.safetensors", bytes + "{}");
  EXPECT_THAT(error_of([&] { read_safetensors(dir_ / "long.safetensors", false); }),
              HasSubstr("header length of 1099511627776 bytes, more than the format's limit of "
                        "100000000"));
  // A well-formed file with an unsupported tensor and an empty tensor is read with the flag.
  const std::string ok = nlohmann::json{
      {"a", entry("F32", {4}, {0, 16})},
      {"e", entry("F32", {0, 3}, {16, 16})},
      {"i", entry("I32", {4},
                  {16, 32})}}.dump();
  const WeightTensors read =
      read_safetensors(safetensors("ok.safetensors", ok, f32x4 + f32x4), true);
  ASSERT_EQ(read.tensors.size(), 2u);
  EXPECT_EQ(read.tensors[0].values, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(read.skipped, (std::vector<std::string>{"i: dtype I32 is not a float type"}));
}

// ---- Layers holding NaN, infinite or only zero values ---------------------------------------

// conv1 measurable; fc1 all zero; fc2 with 12 NaN; fc3 with NaN and infinite values; fc4's bias
// with a NaN; fc5 with 16385 kernels.
std::pair<nlohmann::json, std::string> mixed_layers() {
  std::vector<float> conv{1, 2, 3, 4, -1, -2, -3, -4, 0.5f, 1, 1.5f, 2};  // (3, 1, 2, 2)
  std::vector<float> fc1(6400, 0.0f), fc2(100, 0.5f), fc3(100, 1.0f), fc4(6, 1.0f), fc4_bias(3, 0);
  for (int i = 0; i < 12; ++i) fc2[std::size_t(i * 7)] = std::numeric_limits<float>::quiet_NaN();
  fc3[0] = std::numeric_limits<float>::quiet_NaN();
  for (int i = 1; i <= 3; ++i) fc3[std::size_t(i)] = std::numeric_limits<float>::infinity();
  fc4_bias[1] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::uint16_t> fc5(16385, 0x3c00);  // F16 ones
  nlohmann::json header;
  std::string data;
  auto add = [&](const std::string& name, const std::string& dtype, nlohmann::json shape,
                 const std::string& bytes) {
    header[name] = {{"dtype", dtype},
                    {"shape", shape},
                    {"data_offsets", {data.size(), data.size() + bytes.size()}}};
    data += bytes;
  };
  auto raw = [](const auto& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(v[0]));
  };
  add("conv1.weight", "F32", {3, 1, 2, 2}, raw(conv));
  add("fc1.weight", "F32", {80, 80}, raw(fc1));
  add("fc2.weight", "F32", {10, 10}, raw(fc2));
  add("fc3.weight", "F32", {10, 10}, raw(fc3));
  add("fc4.weight", "F32", {3, 2}, raw(fc4));
  add("fc4.bias", "F32", {3}, raw(fc4_bias));
  add("fc5.weight", "F16", {16385, 1}, raw(fc5));
  return {header, data};
}

TEST_F(WeightsInput, LayersWithNanInfiniteOrZeroValuesAreSkippedByName) {
  const auto [header, data] = mixed_layers();
  const fs::path file = safetensors("mixed.safetensors", header, data);
  const Result r =
      run("analyze --weights " + file.string() + " --out " + (dir_ / "m.json").string());
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string warning = "condense: warning: " + file.string() + ": ";
  EXPECT_THAT(r.output, HasSubstr(warning + "fc1.weight: all 6400 values are zero: nothing to "
                                            "measure; the layer is not measured"));
  EXPECT_THAT(r.output, HasSubstr(warning + "fc2.weight: holds 12 NaN values (of 100)"));
  EXPECT_THAT(r.output, HasSubstr(warning + "fc3.weight: holds 1 NaN and 3 infinite values (of "
                                            "100)"));
  EXPECT_THAT(r.output, HasSubstr(warning + "fc4.bias: holds 1 NaN value (of 3)"));
  EXPECT_THAT(r.output, HasSubstr(warning + "fc5.weight: has 16385 kernels"));
  const auto json = nlohmann::json::parse(read_file(dir_ / "m.json"));
  ASSERT_EQ(json["layers"].size(), 1u);
  EXPECT_EQ(json["layers"][0]["layer"], "conv1");
  EXPECT_EQ(json["layers"][0]["n_lines"], 1);
  EXPECT_EQ(json["layers"][0]["n_orientations"], 2);
  EXPECT_EQ(json["unmeasurable"].size(), 5u);
  EXPECT_EQ(json["unmeasurable"][0], "fc1.weight: all 6400 values are zero: nothing to measure");

  // Nothing left to measure: exit code 2, naming every reason.
  const std::vector<float> nan(4, std::numeric_limits<float>::quiet_NaN());
  const nlohmann::json only_nan = {
      {"w.weight", {{"dtype", "F32"}, {"shape", {2, 2}}, {"data_offsets", {0, 16}}}}};
  const Result bad =
      run("analyze --weights " + safetensors("nan.safetensors", only_nan, raw(nan)).string());
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.output, HasSubstr("holds no layer that can be measured: w.weight: all 4 values "
                                    "are NaN"));
}

TEST_F(WeightsInput, DeadUnitsAreNegligibleKernels) {
  // fc: rows u, 0, 2u, −u: the zero row is a dead unit, set aside as negligible; the rest lie
  // on one line with two orientations.
  const std::vector<double> fc{1, 2, 0, 0, 2, 4, -1, -2};
  const nlohmann::json header = {
      {"fc.weight", {{"dtype", "F64"}, {"shape", {4, 2}}, {"data_offsets", {0, 64}}}}};
  const fs::path file = safetensors("dead.safetensors", header, raw(fc));
  const Result r =
      run("analyze --weights " + file.string() + " --out " + (dir_ / "m.json").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr("warning")));
  const auto layer = nlohmann::json::parse(read_file(dir_ / "m.json"))["layers"][0];
  EXPECT_EQ(layer["n_negligible"], 1);
  EXPECT_EQ(layer["n_lines"], 1);
  EXPECT_EQ(layer["n_orientations"], 2);
  EXPECT_EQ(layer["mean_abs_cos"], 1.0);
}

// ---- --quiet --------------------------------------------------------------------------------

TEST_F(WeightsInput, QuietPrintsNothingButErrors) {
  const auto [header, data] = mixed_layers();
  const fs::path file = safetensors("mixed.safetensors", header, data);
  const fs::path out = dir_ / "m.json", cosines = dir_ / "cosines";
  Result r = run("analyze --weights " + file.string() + " --quiet --skip-unsupported --out " +
                 out.string() + " --cosines " + cosines.string());
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.output, "");
  EXPECT_TRUE(fs::exists(out));
  EXPECT_TRUE(fs::exists(cosines / "conv1.npy"));
  r = run("analyze --weights " + (dir_ / "absent.safetensors").string() + " --quiet");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("condense: error: "));
}

// ---- condense analyze RUN: snapshots/index.csv ----------------------------------------------

const char* kTinyConfig = R"(seed = 5
dtype = "float32"
threads = 1

[data]
dataset = "gaussian"
gaussian_shape = [1, 6, 6]
train_size = 16
test_size = 8
target = "binary"
positive_classes = [0]

[model]
conv = [{ channels = 4, kernel = 3, padding = 1 }]
activation = "tanh"

[init]
std = 0.001

[train]
optimizer = "gd"
lr = 0.5
steps = 10
)";

TEST_F(WeightsInput, HostileSnapshotIndexIsAnErrorNamingTheLine) {
  write_file_atomic(dir_ / "tiny.toml", kTinyConfig);
  const fs::path out = dir_ / "run";
  Result r = run("train " + (dir_ / "tiny.toml").string() + " --quiet --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  const fs::path index = out / "snapshots/index.csv";
  const std::string good = read_file(index);
  ASSERT_THAT(good, HasSubstr("\n0,step_0\n"));

  // --quiet: nothing printed; CRLF line endings are read.
  std::string crlf;
  for (char c : good) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  write_file_atomic(index, crlf);
  r = run("analyze " + out.string() + " --quiet");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, "");

  const std::string long_path(300, 'a');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"abc,step_0", ":2: column step is \"abc\", expected an integer"},
      {"-5,step_0", ":2: step -5 is negative"},
      {"1.5,step_0", ":2: column step is \"1.5\", expected an integer"},
      {"99999999999999999999999,step_0",
       ":2: column step is \"99999999999999999999999\", expected an integer"},
      {"0,/etc", ":2: the path of step 0 is \"/etc\", expected \"step_0\""},
      {"0,step_0\n4,step_4/../../..", ":3: the path of step 4 is \"step_4/../../..\""},
      {"0,../step_0", ":2: the path of step 0 is \"../step_0\""},
      {"0," + long_path, ":2: the path of step 0 is \"" + long_path.substr(0, 80) + "…\""},
      {"0,", ":2: the path of step 0 is \"\", expected \"step_0\""},
      {"0 step_0", ":2: the line has 1 fields, the header has 2"},
      {"0,step_0\n0,step_0", ":3: step 0 does not follow step 0"},
  };
  for (const auto& [rows, expected] : cases) {
    write_file_atomic(index, "step,path\n" + rows + "\n");
    r = run("analyze " + out.string());
    EXPECT_EQ(r.code, 2) << rows << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(index.string() + expected)) << rows;
    EXPECT_THAT(r.output, Not(HasSubstr("terminate"))) << rows;
  }
}

TEST_F(WeightsInput, PathsTheSystemRefusesAreErrorsNotCrashes) {
  const std::string too_long = (dir_ / std::string(5000, 'x')).string();
  for (const std::string& arguments : {"analyze " + too_long, "analyze --weights " + too_long}) {
    const Result r = run(arguments);
    EXPECT_EQ(r.code, 2) << r.output.substr(0, 300);
    EXPECT_THAT(r.output, AllOf(HasSubstr("condense: error: "), Not(HasSubstr("terminate"))));
  }
}

}  // namespace
}  // namespace condense
