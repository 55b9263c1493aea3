#include "condense/data/image_files.hpp"

#include <filesystem>

#include "condense/core/error.hpp"

namespace condense {

namespace fs = std::filesystem;

const char* split_name(SplitKind split) {
  return split == SplitKind::train ? "training" : "test";
}

std::string find_data_file(const std::string& directory, const std::string& name, bool gzip_allowed,
                           const std::string& hint) {
  std::error_code error;
  if (!fs::exists(directory, error))
    fail_input("data directory {} does not exist{}", directory, hint);
  if (!fs::is_directory(directory, error))
    fail_input(
        "data path {} is not a directory; expected the directory holding the dataset's "
        "files{}",
        directory, hint);
  const fs::path plain = fs::path(directory) / name;
  if (fs::exists(plain, error)) return plain.string();
  if (gzip_allowed) {
    const fs::path gzipped = fs::path(directory) / (name + ".gz");
    if (fs::exists(gzipped, error)) return gzipped.string();
    fail_input("data directory {} has neither {} nor {}.gz{}", directory, name, name, hint);
  }
  fail_input("data directory {} has no {}{}", directory, name, hint);
}

}  // namespace condense
