#include "condense/core/csv.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"

namespace condense {

namespace {

// Fields separated by commas; a field in double quotes may hold commas, and "" stands for a
// quote inside it (RFC 4180, without line breaks in fields).
std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c != '"') field += c;
      else if (i + 1 < line.size() && line[i + 1] == '"') field += line[++i];
      else quoted = false;
    } else if (c == '"' && field.empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else if (c != '\r') {
      field += c;
    }
  }
  fields.push_back(std::move(field));
  return fields;
}

}  // namespace

std::size_t CsvTable::column(const std::string& name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end())
    fail_input("{}: no column \"{}\" (columns: {})", path.string(), name, fmt::join(header, ", "));
  return std::size_t(it - header.begin());
}

bool CsvTable::has_column(const std::string& name) const {
  return std::find(header.begin(), header.end(), name) != header.end();
}

double CsvTable::number(std::size_t row, std::size_t col) const {
  const std::string& text = rows.at(row).at(col);
  if (text.empty()) return std::numeric_limits<double>::quiet_NaN();
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    fail_input("{}: column {} is \"{}\", expected a number", where(row), header[col], text);
  return value;
}

long CsvTable::integer(std::size_t row, std::size_t col) const {
  const std::string& text = rows.at(row).at(col);
  long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    fail_input("{}: column {} is \"{}\", expected an integer", where(row), header[col], text);
  return value;
}

std::string CsvTable::where(std::size_t row) const {
  return fmt::format("{}:{}", path.string(), row < lines.size() ? lines[row] : long(row) + 2);
}

void CsvTable::truncate_at(std::size_t row, const std::string& why) {
  if (damage.empty()) damage = why;
  rows.resize(row);
  lines.resize(std::min(lines.size(), row));
}

CsvTable read_csv(const std::filesystem::path& path, CsvDamage on_damage) {
  CsvTable table;
  table.path = path;
  std::istringstream in(read_file(path));
  std::string line;
  if (!std::getline(in, line) || line.empty())
    fail_input("{}: empty, expected a header line", path.string());
  table.header = split_fields(line);
  long line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    auto fields = split_fields(line);
    if (fields.size() != table.header.size()) {
      const std::string why =
          fmt::format("{}:{}: the line has {} fields, the header has {}{}", path.string(),
                      line_number, fields.size(), table.header.size(),
                      fields.size() < table.header.size() ? " (the line is cut short)" : "");
      if (on_damage == CsvDamage::fail) fail_input("{}", why);
      table.damage = why;
      break;
    }
    table.rows.push_back(std::move(fields));
    table.lines.push_back(line_number);
  }
  return table;
}

}  // namespace condense
