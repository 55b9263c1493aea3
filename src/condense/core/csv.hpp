#pragma once
// CSV tables as condense writes them (metrics.csv, predicted_alignment.csv, sweep tables): a
// header line, comma-separated fields, no quoting. An empty field is a value not measured.
#include <filesystem>
#include <string>
#include <vector>

namespace condense {

struct CsvTable {
  std::filesystem::path path;  // for messages
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each as long as the header

  // The index of a column; throws InputError naming the file and the column if it is absent.
  std::size_t column(const std::string& name) const;
  bool has_column(const std::string& name) const;
  // The field as a number: NaN when empty; throws InputError naming file, line and column when
  // it is not a number.
  double number(std::size_t row, std::size_t column) const;
};

// Reads a CSV file (fields may be quoted, as RFC 4180, on one line). Throws IoError if it cannot be read, InputError naming the file and line of a
// row with more fields than the header (a short row, as left by an interrupted write, is padded).
CsvTable read_csv(const std::filesystem::path& path);

}  // namespace condense
