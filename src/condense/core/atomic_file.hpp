#pragma once
// Every file condense writes goes through here: the bytes go to a temporary file beside the
// target, are flushed to disk, and the temporary is renamed over the target. A crash, a full disk
// or an interrupt leaves either the old file or the new one, never half of one.
//
// Files written at every snapshot may defer the flush (Flush::deferred: still written and renamed
// atomically) to the next checkpoint, which flushes the whole file system first
// (flush_file_system): a run's many small snapshot files would otherwise each wait for the disk.
#include <filesystem>
#include <string>
#include <string_view>

namespace condense {

enum class Flush { now, deferred };

// The file a write to `path` replaces: `path` itself, or the regular file a symbolic link points
// to (the link stays; what it points to gets the new content). Throws IoError when `path` is a
// device, a FIFO, a directory or a socket, or a link to one: condense never replaces them.
std::filesystem::path write_target(const std::filesystem::path& path);

// Writes `bytes` to `path` atomically (to write_target(path)). Throws IoError naming the path on
// any failure.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes,
                       Flush flush = Flush::now);

// Flushes every deferred write on the file system holding `path` to disk (syncfs).
void flush_file_system(const std::filesystem::path& path);

// Reads a whole file. Throws IoError naming the path if it is missing or unreadable.
std::string read_file(const std::filesystem::path& path);

// Creates a directory and its parents. Throws IoError naming the path.
void make_directories(const std::filesystem::path& path);

}  // namespace condense
