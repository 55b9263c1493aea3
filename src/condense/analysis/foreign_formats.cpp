#include "condense/analysis/foreign_formats.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <new>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "condense/core/error.hpp"

namespace condense {

namespace {

bool has_suffix(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// The name of the first entry of a zip archive (its first local file header: the name's length
// at byte 26, the name from byte 30); empty when the bytes end before it.
std::string_view first_zip_entry(std::string_view bytes) {
  if (bytes.size() < 30) return {};
  const std::size_t length = static_cast<unsigned char>(bytes[26]) |
                             (std::size_t(static_cast<unsigned char>(bytes[27])) << 8);
  if (bytes.size() < 30 + length) return {};
  return bytes.substr(30, length);
}

[[noreturn]] void fail_pytorch(const std::string& file) {
  fail_input(
      "{0} is a PyTorch pickle (torch.save); condense does not read pickles (loading one runs "
      "code from the file). Save the state_dict as safetensors or NPY:\n"
      "    state = torch.load(\"{0}\", map_location=\"cpu\")  # or model.state_dict()\n"
      "    safetensors.torch.save_file({{k: v.contiguous() for k, v in state.items()}}, "
      "\"model.safetensors\")\n"
      "  or, with numpy alone, one NPY file per tensor in a folder weights/:\n"
      "    for k, v in state.items(): numpy.save(f\"weights/{{k}}.npy\", v.numpy())\n"
      "  then: condense analyze --weights model.safetensors (or --weights weights/)",
      file);
}

}  // namespace

void refuse_foreign_format(std::string_view bytes, const std::string& file) {
  // A safetensors file whose header length happens to start with these bytes has '{' at byte 8.
  if (bytes.size() >= 9 && bytes[8] == '{') return;
  if (bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
    const std::string_view entry = first_zip_entry(bytes);
    if (has_suffix(entry, ".npy"))
      fail_input(
          "{0} is an NPZ archive (numpy.savez), a zip of NPY files; condense reads the NPY files "
          "themselves: unpack them into a folder (unzip {0} -d weights/) and run condense "
          "analyze --weights weights/",
          file);
    if (has_suffix(entry, ".pkl") || entry.find("/data/") != std::string_view::npos ||
        has_suffix(entry, "/version") || has_suffix(file, ".pt") || has_suffix(file, ".pth"))
      fail_pytorch(file);
    fail_input(
        "{0} is a zip archive, not an NPY or safetensors file. If it holds .npy files, unpack "
        "them into a folder and give the folder; if it is a PyTorch checkpoint (torch.save), "
        "save its state_dict with safetensors.torch.save_file or one numpy.save per tensor",
        file);
  }
  // A pickle of protocol 2 to 5 starts with the PROTO opcode 0x80 and the protocol number.
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x80 && bytes[1] >= 2 &&
      bytes[1] <= 5)
    fail_pytorch(file);
}

void rethrow_naming_file(const std::filesystem::path& file) {
  const std::string name = file.string();
  try {
    throw;
  } catch (const std::filesystem::filesystem_error& e) {
    const std::string where = e.path1().empty() ? name : e.path1().string();
    fail_io("cannot read {}: {}", where, e.code().message());
  } catch (const nlohmann::json::exception& e) {
    fail_input("{}: malformed JSON ({})", name, e.what());
  } catch (const std::bad_alloc&) {
    fail_input("{}: not enough memory to read it (does it declare sizes larger than it is?)", name);
  } catch (const std::logic_error& e) {
    fail_input("{}: cannot be read ({})", name, e.what());
  }
}

}  // namespace condense
