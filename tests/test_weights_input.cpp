// Weights trained elsewhere, as `condense analyze --weights` reads them, on bad input: PyTorch
// files named as such and hostile safetensors headers. Every case ends in a clear error naming
// the file (exit code 2), never in a crash.
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

}  // namespace
}  // namespace condense
