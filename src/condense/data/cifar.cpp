// CIFAR binary files (https://www.cs.toronto.edu/~kriz/cifar.html): fixed-size records, no header.
// CIFAR-10: 1 label byte + 3072 pixel bytes; CIFAR-100: coarse label byte, fine label byte + 3072.
// The pixels are 1024 red, 1024 green, 1024 blue bytes, each a 32x32 row-major plane: (C, H, W).
#include <filesystem>

#include "condense/core/error.hpp"
#include "condense/data/byte_reader.hpp"
#include "condense/data/image_files.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

constexpr FeatureShape kCifarShape{3, 32, 32};
constexpr std::uint64_t kPixelBytes = 3 * 32 * 32;
constexpr int kCoarseClasses = 20;

struct CifarImages : ImageFiles {
  std::vector<std::string> paths;
  std::vector<std::int64_t> first_record;  // (files + 1) index of each file's first record
  std::uint64_t label_bytes = 1;

  void read_pixels(const std::vector<std::int64_t>& indices, double* pixels) const override {
    const std::uint64_t record_bytes = label_bytes + kPixelBytes;
    std::vector<unsigned char> buffer(kPixelBytes);
    std::size_t i = 0;
    for (std::size_t f = 0; f < paths.size() && i < indices.size(); ++f) {
      if (indices[i] >= first_record[f + 1]) continue;
      ByteReader reader(paths[f]);
      for (; i < indices.size() && indices[i] < first_record[f + 1]; ++i) {
        const std::int64_t record = indices[i] - first_record[f];
        reader.skip(std::uint64_t(record) * record_bytes + label_bytes - reader.offset());
        reader.read(buffer.data(), buffer.size(), fmt::format("the pixels of record {}", record));
        double* image = pixels + i * kPixelBytes;
        for (std::uint64_t j = 0; j < kPixelBytes; ++j) image[j] = buffer[j];
      }
    }
  }
};

// Reads the labels of every record of one file, checking the file is whole records.
void read_cifar_labels(CifarImages& files, const std::string& path, int classes) {
  const std::uint64_t record_bytes = files.label_bytes + kPixelBytes;
  std::error_code error;
  const std::uint64_t size = fs::file_size(path, error);
  if (error) fail_io("cannot read {}: {}", path, error.message());
  if (size == 0 || size % record_bytes != 0)
    fail_input(
        "{} has {} bytes, which is not a whole number of CIFAR records of {} bytes ({} "
        "label byte{} + {} pixel bytes){}",
        path, size, record_bytes, files.label_bytes, files.label_bytes == 1 ? "" : "s", kPixelBytes,
        size == 0 ? "" : ": the file is truncated or not a CIFAR batch");
  const std::uint64_t records = size / record_bytes;
  ByteReader reader(path);
  constexpr std::uint64_t kChunkRecords = 1024;
  std::vector<unsigned char> chunk(kChunkRecords * record_bytes);
  for (std::uint64_t start = 0; start < records; start += kChunkRecords) {
    const std::uint64_t count = std::min(kChunkRecords, records - start);
    reader.read(chunk.data(), count * record_bytes, "CIFAR records");
    for (std::uint64_t r = 0; r < count; ++r) {
      const unsigned char* record = chunk.data() + r * record_bytes;
      const int label = record[files.label_bytes - 1];  // CIFAR-100: the fine label, second
      if (files.label_bytes == 2 && record[0] >= kCoarseClasses)
        fail_input("{}: coarse label {} of record {} is out of range; expected 0..{}", path,
                   record[0], start + r, kCoarseClasses - 1);
      if (label >= classes)
        fail_input("{}: label {} of record {} is out of range; expected 0..{}", path, label,
                   start + r, classes - 1);
      files.labels.push_back(label);
    }
  }
}

}  // namespace

std::unique_ptr<ImageFiles> open_cifar(const std::string& directory, SplitKind split, int classes,
                                       const std::string& hint) {
  const bool cifar100 = classes == 100;
  std::vector<std::string> names;
  if (cifar100) {
    names = {split == SplitKind::train ? "train.bin" : "test.bin"};
  } else if (split == SplitKind::train) {
    for (int batch = 1; batch <= 5; ++batch)
      names.push_back(fmt::format("data_batch_{}.bin", batch));
  } else {
    names = {"test_batch.bin"};
  }
  auto files = std::make_unique<CifarImages>();
  files->shape = kCifarShape;
  files->label_bytes = cifar100 ? 2 : 1;
  files->first_record = {0};
  for (const auto& name : names) {
    const std::string path = find_data_file(directory, name, false, hint);
    read_cifar_labels(*files, path, classes);
    files->paths.push_back(path);
    files->first_record.push_back(files->records());
  }
  files->source =
      (fs::path(directory) / (names.size() == 1 ? names[0] : "data_batch_{1..5}.bin")).string();
  return files;
}

}  // namespace condense
