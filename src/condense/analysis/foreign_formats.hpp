#pragma once
// Files of weights that condense does not read, told apart by their first bytes so that the error
// says what the file is and how to convert it, and the guard that turns what a parser of hostile
// input may throw into an InputError naming the file.
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

namespace condense {

// Throws InputError when `bytes` are a PyTorch file (torch.save writes a zip archive or, with
// _use_new_zipfile_serialization=False, a pickle), an NPZ archive (numpy.savez) or another zip
// archive, saying how to save the weights as safetensors or NPY. A safetensors file never starts
// like these: its header length is followed by '{'.
void refuse_foreign_format(std::string_view bytes, const std::string& file);

// Rethrows the exception being handled as an InputError naming `file` when it is one that a
// parser of hostile input raises (std::logic_error's length_error, out_of_range and
// invalid_argument, std::bad_alloc, nlohmann::json's exceptions) and as an IoError for
// std::filesystem errors; anything else (InputError, IoError included) is rethrown as it is.
[[noreturn]] void rethrow_naming_file(const std::filesystem::path& file);

// Runs `read`, turning the exceptions of rethrow_naming_file into errors naming `file`.
template <class Read>
auto naming_file(const std::filesystem::path& file, Read&& read) {
  try {
    return std::forward<Read>(read)();
  } catch (...) {
    rethrow_naming_file(file);
  }
}

}  // namespace condense
