#pragma once
// Reader of the PyTorch parity fixtures written by tests/fixtures/make_fixtures.py; the file
// format is described at the top of that script. Header-only: every test file is its own
// executable (tests/CMakeLists.txt).
//
// A fixture that cannot be used as it is (wrong magic, another format or generator version,
// truncated, unknown dtype) throws StaleFixtureError, whose message names the file, says what
// was expected and gives the command that regenerates the fixtures.
#include <fmt/format.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace condense::fixtures {

static_assert(std::endian::native == std::endian::little,
              "the fixture reader assumes a little-endian machine");

inline constexpr char kFixtureMagic[8] = {'C', 'N', 'D', 'S', 'F', 'I', 'X', '\0'};
inline constexpr char kFixtureEndMarker[8] = {'C', 'N', 'D', 'S', 'E', 'N', 'D', '\0'};
// Layout of the file; must equal FORMAT_VERSION of make_fixtures.py.
inline constexpr std::uint32_t kFixtureFormatVersion = 1;
// Contents of the cases; must equal GENERATOR_VERSION of make_fixtures.py.
inline constexpr std::uint32_t kFixtureGeneratorVersion = 1;
inline constexpr std::string_view kRegenerateCommand =
    "/usr/bin/python3 tests/fixtures/make_fixtures.py";

class StaleFixtureError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FixtureEntry {
  enum class Type : std::uint8_t { float64 = 1, int64 = 2, text = 3 };
  Type type = Type::float64;
  std::vector<std::int64_t> shape;
  std::vector<double> values;          // float64 entries
  std::vector<std::int64_t> integers;  // int64 entries
  std::string text;                    // text entries

  std::int64_t size() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

class FixtureFile {
 public:
  // Reads and checks a whole fixture. Throws StaleFixtureError when it cannot be used.
  static FixtureFile read(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, "cannot be opened (missing?)");
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in),
                                  std::istreambuf_iterator<char>()};
    if (in.bad()) fail(path, "could not be read");
    return parse(path, bytes);
  }

  // Parses the bytes of a fixture; `path` only names it in messages.
  static FixtureFile parse(const std::filesystem::path& path, const std::vector<char>& bytes) {
    FixtureFile file;
    file.path_ = path;
    Cursor cursor{path, bytes, 0};
    if (bytes.size() < sizeof kFixtureMagic ||
        std::memcmp(bytes.data(), kFixtureMagic, sizeof kFixtureMagic) != 0)
      fail(path, "does not start with the fixture magic bytes \"CNDSFIX\"");
    cursor.at = sizeof kFixtureMagic;
    const auto format = cursor.get<std::uint32_t>("the format version");
    if (format != kFixtureFormatVersion)
      fail(path, fmt::format("has format version {}, but this reader reads version {}", format,
                             kFixtureFormatVersion));
    file.generator_version_ = cursor.get<std::uint32_t>("the generator version");
    if (file.generator_version_ != kFixtureGeneratorVersion)
      fail(path, fmt::format("was written by generator version {}, but the tests expect version {}",
                             file.generator_version_, kFixtureGeneratorVersion));
    const auto count = cursor.get<std::uint32_t>("the entry count");
    for (std::uint32_t e = 0; e < count; ++e) {
      const std::string where = fmt::format("entry {} of {}", e + 1, count);
      const auto name_length = cursor.get<std::uint32_t>(where + ": the name length");
      std::string name = cursor.take(name_length, where + ": the name");
      FixtureEntry entry;
      const auto type = cursor.get<std::uint8_t>(name + ": the dtype");
      if (type < 1 || type > 3)
        fail(path, fmt::format("entry \"{}\" has dtype code {}; expected 1 (float64), 2 (int64) "
                               "or 3 (text)",
                               name, type));
      entry.type = FixtureEntry::Type(type);
      const auto ndim = cursor.get<std::uint32_t>(name + ": ndim");
      if (ndim > 8) fail(path, fmt::format("entry \"{}\" has {} dimensions", name, ndim));
      for (std::uint32_t d = 0; d < ndim; ++d) {
        const auto size = cursor.get<std::int64_t>(name + ": the shape");
        if (size < 0) fail(path, fmt::format("entry \"{}\" has a negative size", name));
        entry.shape.push_back(size);
      }
      const std::int64_t n = entry.size();
      switch (entry.type) {
        case FixtureEntry::Type::float64:
          entry.values.resize(std::size_t(n));
          cursor.copy(entry.values.data(), std::size_t(n) * 8, name + ": the data");
          break;
        case FixtureEntry::Type::int64:
          entry.integers.resize(std::size_t(n));
          cursor.copy(entry.integers.data(), std::size_t(n) * 8, name + ": the data");
          break;
        case FixtureEntry::Type::text:
          if (ndim != 1) fail(path, fmt::format("text entry \"{}\" has {} dimensions", name, ndim));
          entry.text = cursor.take(std::size_t(n), name + ": the text");
          break;
      }
      if (!file.entries_.emplace(name, std::move(entry)).second)
        fail(path, fmt::format("holds the entry \"{}\" twice", name));
    }
    const std::string end = cursor.take(sizeof kFixtureEndMarker, "the end marker");
    if (std::memcmp(end.data(), kFixtureEndMarker, sizeof kFixtureEndMarker) != 0)
      fail(path, "does not end with the end marker \"CNDSEND\" after its last entry");
    if (cursor.at != bytes.size())
      fail(path, fmt::format("has {} bytes after its end marker", bytes.size() - cursor.at));
    return file;
  }

  const std::filesystem::path& path() const { return path_; }
  std::uint32_t generator_version() const { return generator_version_; }
  bool has(const std::string& name) const { return entries_.count(name) != 0; }

  const FixtureEntry& entry(const std::string& name) const {
    const auto it = entries_.find(name);
    if (it == entries_.end()) fail(path_, fmt::format("has no entry \"{}\"", name));
    return it->second;
  }
  // A float64 entry's values (C order).
  const std::vector<double>& values(const std::string& name) const {
    const FixtureEntry& e = entry(name);
    if (e.type != FixtureEntry::Type::float64)
      fail(path_, fmt::format("entry \"{}\" is not float64", name));
    return e.values;
  }
  const std::vector<std::int64_t>& integers(const std::string& name) const {
    const FixtureEntry& e = entry(name);
    if (e.type != FixtureEntry::Type::int64)
      fail(path_, fmt::format("entry \"{}\" is not int64", name));
    return e.integers;
  }
  const std::string& text(const std::string& name) const {
    const FixtureEntry& e = entry(name);
    if (e.type != FixtureEntry::Type::text)
      fail(path_, fmt::format("entry \"{}\" is not text", name));
    return e.text;
  }
  const std::vector<std::int64_t>& shape(const std::string& name) const {
    return entry(name).shape;
  }

  [[noreturn]] static void fail(const std::filesystem::path& path, const std::string& problem) {
    throw StaleFixtureError(fmt::format(
        "fixture {} {}: the fixture is stale or damaged; regenerate the fixtures from the "
        "source directory with: {}",
        path.string(), problem, kRegenerateCommand));
  }

 private:
  struct Cursor {
    const std::filesystem::path& path;
    const std::vector<char>& bytes;
    std::size_t at = 0;

    void copy(void* out, std::size_t n, const std::string& what) {
      if (n > bytes.size() - at)
        fail(path, fmt::format("ends early, in {} (offset {}, {} bytes needed, {} left)", what, at,
                               n, bytes.size() - at));
      if (n) std::memcpy(out, bytes.data() + at, n);
      at += n;
    }
    template <class U>
    U get(const std::string& what) {
      U value;
      copy(&value, sizeof value, what);
      return value;
    }
    std::string take(std::size_t n, const std::string& what) {
      std::string text(n, '\0');
      copy(text.data(), n, what);
      return text;
    }
  };

  std::filesystem::path path_;
  std::uint32_t generator_version_ = 0;
  std::map<std::string, FixtureEntry> entries_;
};

}  // namespace condense::fixtures
