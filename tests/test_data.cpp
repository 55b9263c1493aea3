// The dataset files: decoding of tiny IDX and CIFAR files written here (plain and gzipped),
// subsets, normalization, targets, every error a damaged or missing file gives, and the real
// Fashion-MNIST package files checked against an independent reading. Options: test_data_spec.cpp;
// synthetic datasets: test_data_synthetic.cpp.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "condense/core/error.hpp"
#include "condense/data/dataset.hpp"
#include "condense/data/image_files.hpp"
#include "data_test_support.hpp"

namespace fs = std::filesystem;
using namespace condense;

namespace {

// ---- writing tiny dataset files ----------------------------------------------------------------

std::string big_endian(std::uint32_t value) {
  return {char(value >> 24), char(value >> 16), char(value >> 8), char(value)};
}

// The pixel value written at `position` of image `image`; every test decodes against it.
int pixel(int image, int position) {
  return (image * 31 + position * 7 + 3) % 256;
}

std::string idx_labels(const std::vector<int>& labels, std::uint32_t magic = 0x00000801) {
  std::string bytes = big_endian(magic) + big_endian(std::uint32_t(labels.size()));
  for (int label : labels) bytes += char(label);
  return bytes;
}

std::string idx_images(int count, int rows, int columns, std::uint32_t magic = 0x00000803) {
  std::string bytes = big_endian(magic) + big_endian(std::uint32_t(count)) +
                      big_endian(std::uint32_t(rows)) + big_endian(std::uint32_t(columns));
  for (int i = 0; i < count; ++i)
    for (int p = 0; p < rows * columns; ++p) bytes += char(pixel(i, p));
  return bytes;
}

// CIFAR records numbered from `first`: label bytes (coarse, then fine for CIFAR-100) + 3072 pixels.
std::string cifar_records(const std::vector<int>& labels, int first, bool cifar100) {
  std::string bytes;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    if (cifar100) bytes += char(labels[r] % 20);  // coarse label
    bytes += char(labels[r]);
    for (int p = 0; p < 3072; ++p) bytes += char(pixel(first + int(r), p));
  }
  return bytes;
}

void write_plain(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string gzip(const std::string& bytes) {
  const fs::path scratch = fs::temp_directory_path() / fmt::format("condense_gz_{}", ::getpid());
  gzFile file = gzopen(scratch.c_str(), "wb");
  EXPECT_NE(file, nullptr);
  EXPECT_EQ(gzwrite(file, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
  gzclose(file);
  std::ifstream in(scratch, std::ios::binary);
  std::string compressed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove(scratch);
  return compressed;
}

class DataFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "condense_test_data_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override { fs::remove_all(dir); }

  // train: 2x3 images with these labels; test (t10k): 4 images, labels 0,1,2,3.
  void write_idx(const std::vector<int>& train_labels, bool gzipped) {
    const auto put = [&](const std::string& name, const std::string& bytes) {
      if (gzipped)
        write_plain(dir / (name + ".gz"), gzip(bytes));
      else
        write_plain(dir / name, bytes);
    };
    put("train-labels-idx1-ubyte", idx_labels(train_labels));
    put("train-images-idx3-ubyte", idx_images(int(train_labels.size()), 2, 3));
    put("t10k-labels-idx1-ubyte", idx_labels({0, 1, 2, 3}));
    put("t10k-images-idx3-ubyte", idx_images(4, 2, 3));
  }

  DataSpec idx_spec() const {
    DataSpec spec;
    spec.dataset = DatasetKind::mnist;
    spec.path = dir.string();
    spec.train_size = 0;
    spec.normalize = Normalize::none;
    return spec;
  }

  fs::path dir;
};

const std::vector<int> kLabels = {3, 1, 4, 1, 5, 9, 2, 6};

// ---- IDX ---------------------------------------------------------------------------------------

TEST_F(DataFiles, IdxDecodesPixelsAndLabelsInFileOrder) {
  for (bool gzipped : {false, true}) {
    SCOPED_TRACE(gzipped ? "gzipped" : "plain");
    fs::remove_all(dir);
    fs::create_directory(dir);
    write_idx(kLabels, gzipped);
    DataSpec spec = idx_spec();
    spec.test_size = -1;
    const Data data = load_data(spec, 1);
    EXPECT_EQ(data.train.shape, (FeatureShape{1, 2, 3}));
    ASSERT_EQ(data.train.size, 8);
    EXPECT_EQ(data.train.original_labels, kLabels);
    EXPECT_EQ(data.train.labels, kLabels);  // all 10 classes in use: re-indexing is the identity
    EXPECT_EQ(data.train.target_width, 10);
    EXPECT_TRUE(data.train.targets.empty());
    EXPECT_EQ(data.classes, 10);
    for (int i = 0; i < 8; ++i)
      for (int p = 0; p < 6; ++p)
        ASSERT_DOUBLE_EQ(data.train.inputs[std::size_t(i * 6 + p)], pixel(i, p) / 255.0);
    ASSERT_EQ(data.test.size, 4);
    EXPECT_EQ(data.test.labels, (std::vector<int>{0, 1, 2, 3}));
    EXPECT_DOUBLE_EQ(data.test.inputs[6 * 3 + 5], pixel(3, 5) / 255.0);
    EXPECT_TRUE(data.mean.empty());
    EXPECT_CONTAINS(data.description, "mnist: 8 train / 4 test, 1x2x3");
  }
}

TEST_F(DataFiles, FirstSubsetTakesTheFirstRecordsOfTheClassesInUse) {
  write_idx(kLabels, false);
  DataSpec spec = idx_spec();
  spec.train_size = 3;
  spec.test_size = 2;
  Data data = load_data(spec, 1);
  EXPECT_EQ(data.train.original_labels, (std::vector<int>{3, 1, 4}));
  EXPECT_DOUBLE_EQ(data.train.inputs[2 * 6], pixel(2, 0) / 255.0);
  EXPECT_EQ(data.test.original_labels, (std::vector<int>{0, 1}));

  // Class subset: records of classes 4 and 1 in file order (1, 2, 3), re-indexed 4 → 0, 1 → 1.
  spec.classes = {4, 1};
  spec.train_size = 0;
  spec.test_size = -1;
  data = load_data(spec, 1);
  EXPECT_EQ(data.classes, 2);
  EXPECT_EQ(data.train.original_labels, (std::vector<int>{1, 4, 1}));
  EXPECT_EQ(data.train.labels, (std::vector<int>{1, 0, 1}));
  EXPECT_EQ(data.train.target_width, 2);
  EXPECT_DOUBLE_EQ(data.train.inputs[0], pixel(1, 0) / 255.0);
  EXPECT_DOUBLE_EQ(data.train.inputs[6], pixel(2, 0) / 255.0);
  EXPECT_EQ(data.test.original_labels, (std::vector<int>{1}));
  EXPECT_CONTAINS(data.description, "classes 4,1 of 10");
}

TEST_F(DataFiles, BalancedSubsetIsSeededEqualPerClassAndInFileOrder) {
  std::vector<int> labels;
  for (int i = 0; i < 40; ++i) labels.push_back(i < 20 ? 0 : (i % 2 == 0 ? 1 : 2));  // 20, 10, 10
  write_idx(labels, false);
  DataSpec spec = idx_spec();
  spec.classes = {0, 1, 2};
  spec.subset = SubsetKind::balanced;
  spec.train_size = 9;
  const Data a = load_data(spec, 7);
  const Data b = load_data(spec, 7);
  ASSERT_EQ(a.train.size, 9);
  EXPECT_EQ(a.train.inputs, b.train.inputs);
  std::map<int, int> counts;
  for (int label : a.train.original_labels) ++counts[label];
  EXPECT_EQ(counts, (std::map<int, int>{{0, 3}, {1, 3}, {2, 3}}));
  // File order: the decoded pixels identify the records, and their indices ascend.
  std::vector<int> records;
  for (int i = 0; i < 9; ++i)
    for (int r = 0; r < 40; ++r)
      if (a.train.inputs[std::size_t(i * 6)] == pixel(r, 0) / 255.0 &&
          a.train.inputs[std::size_t(i * 6 + 1)] == pixel(r, 1) / 255.0)
        records.push_back(r);
  ASSERT_EQ(records.size(), 9u);
  EXPECT_TRUE(std::is_sorted(records.begin(), records.end()));
  for (int i = 0; i < 9; ++i)
    EXPECT_EQ(labels[std::size_t(records[std::size_t(i)])],
              a.train.original_labels[std::size_t(i)]);
  // Another seed draws another sample (of class 0, 3 of 20: equal by chance with p = 1/1140).
  bool differs = false;
  for (std::uint64_t seed = 8; seed < 11; ++seed)
    differs |= load_data(spec, seed).train.inputs != a.train.inputs;
  EXPECT_TRUE(differs);

  spec.train_size = 0;  // the largest balanced set: 10 of each
  EXPECT_EQ(load_data(spec, 7).train.size, 30);
  spec.train_size = 33;
  const std::string message = error_of([&] { load_data(spec, 7); });
  EXPECT_CONTAINS(message, "needs 11 images of each of the 3 classes");
  EXPECT_CONTAINS(message, "has only 10");
  EXPECT_CONTAINS(message, "at most 30");
}

TEST_F(DataFiles, StandardNormalizationUsesTrainingStatisticsForBothSplits) {
  write_idx(kLabels, true);
  DataSpec spec = idx_spec();
  spec.test_size = -1;
  const Data raw = load_data(spec, 1);
  spec.normalize = Normalize::standard;
  const Data data = load_data(spec, 1);
  double sum = 0.0, squares = 0.0;
  for (double x : data.train.inputs) sum += x, squares += x * x;
  const double n = double(data.train.inputs.size());
  EXPECT_NEAR(sum / n, 0.0, 1e-12);
  EXPECT_NEAR(squares / n, 1.0, 1e-12);  // population variance 1
  ASSERT_EQ(data.mean.size(), 1u);
  double mean = 0.0, variance = 0.0;
  for (double x : raw.train.inputs) mean += x / n;
  for (double x : raw.train.inputs) variance += (x - mean) * (x - mean) / n;
  EXPECT_NEAR(data.mean[0], mean, 1e-12);
  EXPECT_NEAR(data.std[0], std::sqrt(variance), 1e-12);
  for (std::size_t i = 0; i < data.test.inputs.size(); ++i)
    ASSERT_NEAR(data.test.inputs[i], (raw.test.inputs[i] - mean) / std::sqrt(variance), 1e-12);
  EXPECT_CONTAINS(data.description, "standard normalization");
}

TEST_F(DataFiles, ConstantImagesCannotBeStandardized) {
  write_plain(dir / "train-labels-idx1-ubyte", idx_labels({0, 1}));
  const std::string images =
      big_endian(0x803) + big_endian(2) + big_endian(1) + big_endian(1) + "\x07\x07";
  write_plain(dir / "train-images-idx3-ubyte", images);
  DataSpec spec = idx_spec();
  spec.normalize = Normalize::standard;
  EXPECT_CONTAINS(error_of([&] { load_data(spec, 1); }), "standard deviation is 0");
}

TEST_F(DataFiles, TargetEncodings) {
  write_idx(kLabels, false);
  DataSpec spec = idx_spec();
  spec.classes = {1, 4, 9};
  spec.target = TargetKind::onehot;
  Data data = load_data(spec, 1);  // records 1 (1), 2 (4), 3 (1), 5 (9)
  EXPECT_EQ(data.train.original_labels, (std::vector<int>{1, 4, 1, 9}));
  EXPECT_TRUE(data.train.labels.empty());
  EXPECT_EQ(data.train.target_width, 3);
  EXPECT_EQ(data.train.targets, (std::vector<double>{1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1}));

  spec.target = TargetKind::binary;
  spec.positive_classes = {9, 4};
  data = load_data(spec, 1);
  EXPECT_EQ(data.train.target_width, 1);
  EXPECT_EQ(data.train.targets, (std::vector<double>{-1, 1, -1, 1}));
  EXPECT_EQ(data.classes, 3);
  EXPECT_CONTAINS(data.description, "binary targets (+1: class 9,4)");
}

// ---- CIFAR -------------------------------------------------------------------------------------

TEST_F(DataFiles, Cifar10ReadsBatchesInOrderWithChannelPlanes) {
  // Batch b holds records 2(b−1), 2(b−1)+1 with labels b, b+1 (mod 10).
  for (int batch = 1; batch <= 5; ++batch)
    write_plain(dir / fmt::format("data_batch_{}.bin", batch),
                cifar_records({batch % 10, (batch + 1) % 10}, 2 * (batch - 1), false));
  write_plain(dir / "test_batch.bin", cifar_records({7, 8, 9}, 100, false));
  DataSpec spec;
  spec.dataset = DatasetKind::cifar10;
  spec.path = dir.string();
  spec.train_size = 0;
  spec.test_size = 2;
  spec.normalize = Normalize::none;
  Data data = load_data(spec, 1);
  EXPECT_EQ(data.train.shape, (FeatureShape{3, 32, 32}));
  EXPECT_EQ(data.train.original_labels, (std::vector<int>{1, 2, 2, 3, 3, 4, 4, 5, 5, 6}));
  for (int r = 0; r < 10; ++r)
    for (int p : {0, 1023, 1024 + 32 * 5 + 7, 3071})  // red (0,0), (31,31); green (5,7); blue
      ASSERT_DOUBLE_EQ(data.train.inputs[std::size_t(r * 3072 + p)], pixel(r, p) / 255.0);
  EXPECT_EQ(data.test.original_labels, (std::vector<int>{7, 8}));
  EXPECT_DOUBLE_EQ(data.test.inputs[3072 + 2000], pixel(101, 2000) / 255.0);

  // A class subset with the first n spanning several batches.
  spec.classes = {3, 5};
  spec.train_size = 3;
  spec.test_size = 0;
  data = load_data(spec, 1);
  EXPECT_EQ(data.train.original_labels, (std::vector<int>{3, 3, 5}));
  EXPECT_DOUBLE_EQ(data.train.inputs[2 * 3072 + 9], pixel(7, 9) / 255.0);
  EXPECT_EQ(data.test.size, 0);
}

TEST_F(DataFiles, PerChannelNormalizationOnCifar) {
  for (int batch = 1; batch <= 5; ++batch)
    write_plain(dir / fmt::format("data_batch_{}.bin", batch),
                cifar_records({0, 1, 2}, 3 * (batch - 1), false));
  DataSpec spec;
  spec.dataset = DatasetKind::cifar10;
  spec.path = dir.string();
  spec.train_size = 0;
  spec.normalize = Normalize::per_channel;
  const Data data = load_data(spec, 1);
  ASSERT_EQ(data.mean.size(), 3u);
  ASSERT_EQ(data.std.size(), 3u);
  for (int c = 0; c < 3; ++c) {
    double sum = 0.0, squares = 0.0, raw_sum = 0.0;
    for (int r = 0; r < data.train.size; ++r)
      for (int p = 0; p < 1024; ++p) {
        const double x = data.train.inputs[std::size_t(r * 3072 + c * 1024 + p)];
        sum += x, squares += x * x, raw_sum += pixel(r, c * 1024 + p) / 255.0;
      }
    const double n = 1024.0 * data.train.size;
    EXPECT_NEAR(sum / n, 0.0, 1e-12) << "channel " << c;
    EXPECT_NEAR(squares / n, 1.0, 1e-12) << "channel " << c;
    EXPECT_NEAR(data.mean[std::size_t(c)], raw_sum / n, 1e-12) << "channel " << c;
  }
  EXPECT_CONTAINS(data.description, "per-channel normalization");
}

TEST_F(DataFiles, Cifar100UsesTheFineLabel) {
  write_plain(dir / "train.bin", cifar_records({99, 42, 5}, 0, true));
  write_plain(dir / "test.bin", cifar_records({63}, 10, true));
  DataSpec spec;
  spec.dataset = DatasetKind::cifar100;
  spec.path = dir.string();
  spec.train_size = 0;
  spec.test_size = -1;
  spec.normalize = Normalize::none;
  const Data data = load_data(spec, 1);
  EXPECT_EQ(data.classes, 100);
  EXPECT_EQ(data.train.original_labels, (std::vector<int>{99, 42, 5}));
  EXPECT_DOUBLE_EQ(data.train.inputs[3072 + 17], pixel(1, 17) / 255.0);
  EXPECT_EQ(data.test.original_labels, (std::vector<int>{63}));
  EXPECT_DOUBLE_EQ(data.test.inputs[3071], pixel(10, 3071) / 255.0);
}

// ---- errors on files ---------------------------------------------------------------------------

TEST_F(DataFiles, IdxErrorsNameThePathAndWhatWasExpected) {
  const fs::path images = dir / "train-images-idx3-ubyte";
  const fs::path labels = dir / "train-labels-idx1-ubyte";
  const DataSpec spec = idx_spec();
  const auto load = [&] { load_data(spec, 1); };

  // Missing directory and missing file.
  DataSpec absent = spec;
  absent.path = (dir / "nowhere").string();
  EXPECT_CONTAINS(error_of([&] { load_data(absent, 1); }), "nowhere does not exist");
  write_idx(kLabels, false);
  fs::remove(images);
  std::string message = error_of(load);
  EXPECT_CONTAINS(message, "has neither train-images-idx3-ubyte nor train-images-idx3-ubyte.gz");
  EXPECT_CONTAINS(message, dir.string());

  // Wrong magic numbers.
  write_plain(images, idx_images(8, 2, 3, 0x00000801));
  message = error_of(load);
  EXPECT_CONTAINS(message, images.string());
  EXPECT_CONTAINS(message, "magic number is 0x00000801, expected 0x00000803");
  write_idx(kLabels, false);
  write_plain(labels, idx_labels(kLabels, 0x00000803));
  EXPECT_CONTAINS(error_of(load), "is not an IDX label file");

  // Counts that disagree.
  write_idx(kLabels, false);
  write_plain(images, idx_images(7, 2, 3));
  message = error_of(load);
  EXPECT_CONTAINS(message, "holds 7 images but");
  EXPECT_CONTAINS(message, "holds 8 labels");

  // Truncated plain files: the pixels, the labels, the header.
  write_idx(kLabels, false);
  std::string bytes = idx_images(8, 2, 3);
  write_plain(images, bytes.substr(0, bytes.size() - 5));
  message = error_of(load);
  EXPECT_CONTAINS(message, images.string() + " is truncated: it has 59 bytes");
  EXPECT_CONTAINS(message, "8 images of 2x3 bytes take 64 bytes");
  write_plain(images, bytes + "extra");
  EXPECT_CONTAINS(error_of(load), "take exactly 64 bytes");
  write_plain(images, bytes.substr(0, 10));
  EXPECT_CONTAINS(error_of(load),
                  "is truncated: 4 bytes of the row count were expected at byte 8, but the file "
                  "ends after 10 bytes");
  write_plain(images, bytes);
  write_plain(labels, idx_labels(kLabels).substr(0, 12));
  EXPECT_CONTAINS(error_of(load), "is truncated: 8 bytes of the labels were expected at byte 8");

  // Labels out of range for the dataset.
  write_plain(labels, idx_labels({3, 1, 4, 1, 5, 12, 2, 6}));
  EXPECT_CONTAINS(error_of(load), "label 12 of record 5 is out of range; expected 0..9");

  // Test images of another shape than the training images.
  write_idx(kLabels, false);
  write_plain(dir / "t10k-images-idx3-ubyte", idx_images(4, 3, 2));
  DataSpec with_test = spec;
  with_test.test_size = -1;
  EXPECT_CONTAINS(error_of([&] { load_data(with_test, 1); }), "expected one shape for both");
}

TEST_F(DataFiles, TruncatedGzipStreamsAreReported) {
  const std::vector<int> labels(50, 2);
  write_idx(labels, true);
  const fs::path images = dir / "train-images-idx3-ubyte.gz";
  const std::string raw = idx_images(50, 2, 3);
  const std::string compressed = gzip(raw);
  DataSpec spec = idx_spec();
  // Cut inside the deflate data: found from the gzip trailer without reading the pixels.
  write_plain(images, compressed.substr(0, compressed.size() / 2));
  std::string message = error_of([&] { load_data(spec, 1); });
  EXPECT_CONTAINS(message, images.string() + " is truncated: its gzip stream is cut off after");
  EXPECT_CONTAINS(message, "50 images of 2x3 bytes take 316 bytes");
  // Cut only the trailer.
  write_plain(images, compressed.substr(0, compressed.size() - 3));
  EXPECT_CONTAINS(error_of([&] { load_data(spec, 1); }), "is truncated");
  // Cut inside the header.
  write_plain(images, gzip(raw).substr(0, 12));
  message = error_of([&] { load_data(spec, 1); });
  EXPECT_CONTAINS(message, images.string() + " is truncated");
  // A gzip file of two members (the trailer then holds only the second's length) is read whole.
  write_plain(images, gzip(raw.substr(0, 30)) + gzip(raw.substr(30)));
  const Data data = load_data(spec, 1);
  EXPECT_DOUBLE_EQ(data.train.inputs[47], pixel(7, 5) / 255.0);
  // Extra data after the pixels is found as well.
  write_plain(images, gzip(raw + "extra"));
  EXPECT_CONTAINS(error_of([&] { load_data(spec, 1); }),
                  "holds 321 bytes once decompressed, but a 16-byte header and 50 images");
}

TEST_F(DataFiles, TooFewImagesSaysHowManyAreAvailable) {
  write_idx(kLabels, false);
  DataSpec spec = idx_spec();
  spec.train_size = 9;
  std::string message = error_of([&] { load_data(spec, 1); });
  EXPECT_CONTAINS(message, "data.train_size = 9, but only 8 training images");
  spec.train_size = 3;
  spec.classes = {4, 9};
  message = error_of([&] { load_data(spec, 1); });
  EXPECT_CONTAINS(message, "only 2 training images of classes 4, 9 in");
  spec.classes = {};
  spec.test_size = 5;
  message = error_of([&] { load_data(spec, 1); });
  EXPECT_CONTAINS(message, "data.test_size = 5, but only 4 test images");
  EXPECT_CONTAINS(message, "t10k-images-idx3-ubyte");
  spec.test_size = 0;
  spec.classes = {7, 8};
  spec.train_size = 0;
  EXPECT_CONTAINS(error_of([&] { load_data(spec, 1); }), "there are no training images");
}

TEST_F(DataFiles, CifarErrors) {
  DataSpec spec;
  spec.dataset = DatasetKind::cifar10;
  spec.path = dir.string();
  for (int batch = 1; batch <= 4; ++batch)
    write_plain(dir / fmt::format("data_batch_{}.bin", batch), cifar_records({1}, 0, false));
  EXPECT_CONTAINS(error_of([&] { load_data(spec, 1); }), "has no data_batch_5.bin");
  const std::string record = cifar_records({1, 2}, 0, false);
  write_plain(dir / "data_batch_5.bin", record.substr(0, record.size() - 100));
  std::string message = error_of([&] { load_data(spec, 1); });
  EXPECT_CONTAINS(message, "data_batch_5.bin has 6046 bytes");
  EXPECT_CONTAINS(message, "not a whole number of CIFAR records of 3073 bytes");
  write_plain(dir / "data_batch_5.bin", cifar_records({1, 10}, 0, false));
  EXPECT_CONTAINS(error_of([&] { load_data(spec, 1); }),
                  "label 10 of record 1 is out of range; expected 0..9");
  write_plain(dir / "data_batch_5.bin", record);
  spec.train_size = 7;
  EXPECT_CONTAINS(error_of([&] { load_data(spec, 1); }), "only 6 training images");
}

TEST_F(DataFiles, MissingDefaultDataSaysHowToInstallIt) {
  const std::string hint = "; run scripts/setup.sh";
  const std::string message =
      error_of([&] { open_idx((dir / "fashion").string(), SplitKind::train, 10, hint); });
  EXPECT_CONTAINS(message, "fashion does not exist; run scripts/setup.sh");
}

// ---- the real Fashion-MNIST package ------------------------------------------------------------

// Independent of condense's reader: zlib straight into memory.
std::string gunzip(const fs::path& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return {};
  std::string bytes;
  char buffer[1 << 16];
  int got;
  while ((got = gzread(file, buffer, sizeof buffer)) > 0) bytes.append(buffer, std::size_t(got));
  gzclose(file);
  return bytes;
}

TEST(DataFashionMnist, PackageFilesMatchAnIndependentReading) {
  const fs::path root = kFashionMnistDefaultPath;
  ASSERT_TRUE(fs::exists(root / "train-images-idx3-ubyte.gz"))
      << root << " is missing: install the Debian package dataset-fashion-mnist by running "
      << "scripts/setup.sh";
  const std::string labels = gunzip(root / "train-labels-idx1-ubyte.gz");
  const std::string images = gunzip(root / "train-images-idx3-ubyte.gz");
  ASSERT_EQ(labels.size(), 8u + 60000u);
  ASSERT_EQ(images.size(), 16u + 60000u * 784u);

  DataSpec spec;  // the defaults: fashion-mnist from the package, first 500 training images
  spec.normalize = Normalize::none;
  const Data data = load_data(spec, 1);
  ASSERT_EQ(data.train.size, 500);
  EXPECT_EQ(data.train.shape, (FeatureShape{1, 28, 28}));
  EXPECT_EQ(data.test.size, 0);
  std::map<int, int> expected_counts, counts;
  for (int i = 0; i < 500; ++i) ++expected_counts[(unsigned char)labels[std::size_t(8 + i)]];
  for (int label : data.train.labels) ++counts[label];
  EXPECT_EQ(counts, expected_counts);
  // The same counts, as computed with Python's gzip module when this test was written.
  EXPECT_EQ(counts, (std::map<int, int>{{0, 52},
                                        {1, 54},
                                        {2, 47},
                                        {3, 49},
                                        {4, 53},
                                        {5, 51},
                                        {6, 53},
                                        {7, 49},
                                        {8, 50},
                                        {9, 42}}));
  EXPECT_EQ(data.train.labels[0], 9);  // the first training image is an ankle boot
  for (std::size_t j = 0; j < data.train.inputs.size(); ++j) {
    const double value = data.train.inputs[j] * 255.0;
    ASSERT_GE(value, 0.0);
    ASSERT_LE(value, 255.0);
    ASSERT_NEAR(value, double((unsigned char)images[16 + j]), 1e-9) << "pixel " << j;
  }

  // All of it: 6000 training and 1000 test images of each class, standardized.
  spec.train_size = 0;
  spec.test_size = -1;
  spec.normalize = Normalize::standard;
  const Data all = load_data(spec, 1);
  ASSERT_EQ(all.train.size, 60000);
  ASSERT_EQ(all.test.size, 10000);
  std::map<int, int> train_counts, test_counts;
  for (int label : all.train.labels) ++train_counts[label];
  for (int label : all.test.labels) ++test_counts[label];
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(train_counts[c], 6000);
    EXPECT_EQ(test_counts[c], 1000);
  }
  double sum = 0.0;
  for (double x : all.train.inputs) sum += x;
  EXPECT_NEAR(sum / double(all.train.inputs.size()), 0.0, 1e-9);
  EXPECT_EQ(all.description,
            "fashion-mnist: 60000 train / 10000 test, 1x28x28, 10 classes, standard "
            "normalization, class targets");
}

}  // namespace
