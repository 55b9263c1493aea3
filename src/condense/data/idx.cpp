// IDX files, the format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
// a big-endian header — magic 0x00000801 (unsigned bytes, 1 dimension) or 0x00000803 (unsigned
// bytes, 3 dimensions), then each dimension as a 32-bit count — followed by the bytes in C order.
#include <algorithm>
#include <string>
#include <string_view>

#include "condense/core/error.hpp"
#include "condense/data/byte_reader.hpp"
#include "condense/data/image_files.hpp"

namespace condense {

namespace {

constexpr std::uint32_t kLabelMagic = 0x00000801;
constexpr std::uint32_t kImageMagic = 0x00000803;
constexpr std::uint32_t kMaxSide = 4096;  // far above any IDX image; guards against garbage headers

std::uint32_t read_big_endian(ByteReader& reader, std::string_view what) {
  unsigned char bytes[4];
  reader.read(bytes, 4, what);
  return std::uint32_t(bytes[0]) << 24 | std::uint32_t(bytes[1]) << 16 |
         std::uint32_t(bytes[2]) << 8 | std::uint32_t(bytes[3]);
}

void check_magic(ByteReader& reader, std::uint32_t expected, const char* kind) {
  const std::uint32_t magic = read_big_endian(reader, "the IDX magic number");
  if (magic != expected)
    fail_input("{} is not an IDX {} file: its magic number is 0x{:08x}, expected 0x{:08x}",
               reader.path().string(), kind, magic, expected);
}

struct IdxImages : ImageFiles {
  std::string images_path;

  void read_pixels(const std::vector<std::int64_t>& indices, double* pixels) const override {
    const std::uint64_t image_bytes = std::uint64_t(shape.size());
    ByteReader reader(images_path);
    std::vector<unsigned char> buffer(image_bytes);
    for (std::size_t i = 0; i < indices.size(); ++i) {
      const std::uint64_t start = 16 + std::uint64_t(indices[i]) * image_bytes;
      reader.skip(start - reader.offset());
      reader.read(buffer.data(), buffer.size(), fmt::format("image {}", indices[i]));
      double* image = pixels + i * image_bytes;
      for (std::uint64_t j = 0; j < image_bytes; ++j) image[j] = buffer[j];
    }
  }
};

}  // namespace

std::unique_ptr<ImageFiles> open_idx(const std::string& directory, SplitKind split, int classes,
                                     const std::string& hint) {
  const std::string prefix = split == SplitKind::train ? "train" : "t10k";
  const std::string labels_path =
      find_data_file(directory, prefix + "-labels-idx1-ubyte", true, hint);
  const std::string images_path =
      find_data_file(directory, prefix + "-images-idx3-ubyte", true, hint);
  auto files = std::make_unique<IdxImages>();
  files->images_path = images_path;
  files->source = images_path;

  ByteReader labels(labels_path);
  check_magic(labels, kLabelMagic, "label");
  const std::uint32_t label_count = read_big_endian(labels, "the label count");
  // Read a chunk at a time, so that memory follows the bytes the file holds, not the count its
  // header claims (a 68-byte file may claim 4 billion labels).
  constexpr std::uint64_t kChunk = std::uint64_t(1) << 20;
  const std::string what = label_count <= kChunk
                               ? std::string("the labels")
                               : fmt::format("the labels ({} in the header)", label_count);
  std::vector<unsigned char> label_bytes;
  for (std::uint64_t done = 0; done < label_count;) {
    const std::uint64_t chunk = std::min<std::uint64_t>(kChunk, label_count - done);
    label_bytes.resize(done + chunk);
    labels.read(label_bytes.data() + done, chunk, what);
    done += chunk;
  }
  labels.expect_length(8 + std::uint64_t(label_count),
                       fmt::format("an 8-byte header and {} labels", label_count));
  files->labels.assign(label_bytes.begin(), label_bytes.end());
  for (std::uint32_t i = 0; i < label_count; ++i)
    if (files->labels[i] >= classes)
      fail_input("{}: label {} of record {} is out of range; expected 0..{}", labels_path,
                 files->labels[i], i, classes - 1);

  ByteReader images(images_path);
  check_magic(images, kImageMagic, "image");
  const std::uint32_t image_count = read_big_endian(images, "the image count");
  const std::uint32_t rows = read_big_endian(images, "the row count");
  const std::uint32_t columns = read_big_endian(images, "the column count");
  if (rows < 1 || rows > kMaxSide || columns < 1 || columns > kMaxSide)
    fail_input("{}: images of {}x{} pixels; expected sides between 1 and {}", images_path, rows,
               columns, kMaxSide);
  if (image_count != label_count)
    fail_input("{} holds {} images but {} holds {} labels; expected one label per image",
               images_path, image_count, labels_path, label_count);
  images.expect_length(
      16 + std::uint64_t(image_count) * rows * columns,
      fmt::format("a 16-byte header and {} images of {}x{} bytes", image_count, rows, columns));
  files->shape = FeatureShape{1, int(rows), int(columns)};
  return files;
}

}  // namespace condense
