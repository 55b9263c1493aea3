#pragma once
// What every fuzz target of condense checks (docs/testing.md): a reader given any bytes either
// returns or throws condense's InputError or IoError, the errors a user sees as a message and exit
// code 2. Anything else (another exception, a crash, a sanitizer report, a hang, memory beyond
// libFuzzer's -rss_limit_mb) is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "condense/core/error.hpp"

namespace condense::fuzz {

template <class Read>
int run_reader(const std::uint8_t* data, std::size_t size, Read read) {
  try {
    read(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const InputError&) {
  } catch (const IoError&) {
  }
  return 0;
}

// Readers that take only a path are fuzzed through real files: each input's files go to a folder
// of this process (/tmp/condense-fuzz-<pid>), emptied for every input so that nothing of one input
// reaches the next, and removed when the process ends.
class ScratchFolder {
 public:
  ScratchFolder()
      : root_(std::filesystem::temp_directory_path() /
              ("condense-fuzz-" + std::to_string(::getpid()))) {}
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;

  // The folder, emptied.
  const std::filesystem::path& fresh() {
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    return root_;
  }

 private:
  std::filesystem::path root_;
};

inline ScratchFolder& scratch() {
  static ScratchFolder folder;
  return folder;
}

// Writes `bytes` to `path`, making its parent folders.
inline void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// Inputs that stand for several files (an IDX label file and its image file) hold them one after
// the other with this line between them (fuzz/dict/files.dict gives it to the fuzzer).
inline constexpr std::string_view kNextFile = "\n--condense-fuzz-next-file--\n";

// The files of an input: `count` parts, the last ones empty when the input has fewer separators;
// separators after the (count - 1)th belong to the last part.
inline std::vector<std::string_view> split_files(std::string_view bytes, std::size_t count) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < count) {
    const std::size_t at = bytes.find(kNextFile);
    if (at == std::string_view::npos) break;
    parts.push_back(bytes.substr(0, at));
    bytes.remove_prefix(at + kNextFile.size());
  }
  parts.push_back(bytes);
  parts.resize(count);
  return parts;
}

}  // namespace condense::fuzz
