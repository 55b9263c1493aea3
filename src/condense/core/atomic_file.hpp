#pragma once
// Every file condense writes goes through here: the bytes go to a temporary file beside the
// target, are flushed to disk, and the temporary is renamed over the target. A crash, a full disk
// or an interrupt leaves either the old file or the new one, never half of one.
#include <filesystem>
#include <string>
#include <string_view>

namespace condense {

// Writes `bytes` to `path` atomically. Throws IoError naming the path on any failure.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// Reads a whole file. Throws IoError naming the path if it is missing or unreadable.
std::string read_file(const std::filesystem::path& path);

// Creates a directory and its parents. Throws IoError naming the path.
void make_directories(const std::filesystem::path& path);

}  // namespace condense
