// IDX label and image files (MNIST, Fashion-MNIST) as data.name = "mnist" opens them, then the
// pixels of every record: the input is the label file, the separator of fuzz_target.hpp, then the
// image file. Each input is read twice: as plain files, and gzipped (train-*-ubyte.gz), which
// reaches the gzip trailer's length check of ByteReader.
#include <zlib.h>

#include "fuzz_target.hpp"
#include "image_files_target.hpp"

namespace {

void write_gzip(const std::filesystem::path& path, std::string_view bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  if (!file) return;
  if (!bytes.empty()) gzwrite(file, bytes.data(), unsigned(bytes.size()));
  gzclose(file);
}

void open_and_read(const std::filesystem::path& folder) {
  condense::fuzz::read_every_record(
      condense::open_idx(folder.string(), condense::SplitKind::train, 10, ""));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using condense::fuzz::scratch;
  using condense::fuzz::split_files;
  condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    const auto parts = split_files(bytes, 2);
    const auto& folder = scratch().fresh();
    condense::fuzz::write_bytes(folder / "train-labels-idx1-ubyte", parts[0]);
    condense::fuzz::write_bytes(folder / "train-images-idx3-ubyte", parts[1]);
    open_and_read(folder);
  });
  return condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    const auto parts = split_files(bytes, 2);
    const auto& folder = scratch().fresh();
    write_gzip(folder / "train-labels-idx1-ubyte.gz", parts[0]);
    write_gzip(folder / "train-images-idx3-ubyte.gz", parts[1]);
    open_and_read(folder);
  });
}
