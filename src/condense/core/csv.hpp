#pragma once
// CSV tables as condense writes them (metrics.csv, predicted_alignment.csv, sweep tables): a
// header line, comma-separated fields, no quoting. An empty field is a value not measured.
#include <filesystem>
#include <string>
#include <vector>

#include "condense/core/error.hpp"

namespace condense {

// What a reader does with a damaged row (more or fewer fields than the header, or a field a
// typed reader cannot parse): stop with an error naming the file and line, or keep the rows before
// it and say where reading stopped (reports show what a damaged run still holds).
enum class CsvDamage { fail, stop };

struct CsvTable {
  std::filesystem::path path;  // for messages
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each as long as the header
  std::vector<long> lines;                     // the file's line number of each row
  std::string damage;  // CsvDamage::stop: "FILE:LINE: what was wrong" where reading stopped

  // The index of a column; throws InputError naming the file and the column if it is absent.
  std::size_t column(const std::string& name) const;
  bool has_column(const std::string& name) const;
  // The field as a number: NaN when empty; throws InputError naming file, line and column when
  // it is not a number (the whole field must be one: "0.72x" and "0.7 2" are not).
  double number(std::size_t row, std::size_t column) const;
  // The field as an integer (a step, a count); throws InputError naming file, line and column
  // when it is empty or not an integer in range.
  long integer(std::size_t row, std::size_t column) const;
  // "FILE:LINE" of a row, for messages of typed readers.
  std::string where(std::size_t row) const;
  // CsvDamage::stop: keeps rows [0, row) and records why reading stopped there.
  void truncate_at(std::size_t row, const std::string& why);
};

// Reads a CSV file (fields may be quoted, as RFC 4180, on one line). Throws IoError if it cannot
// be read, InputError for an empty file; a row with more or fewer fields than the header is
// damaged (an error naming the file and line, or with CsvDamage::stop the end of the table).
CsvTable read_csv(const std::filesystem::path& path, CsvDamage on_damage = CsvDamage::fail);

// Runs `parse(row)` on every row of `table`; an InputError from a row either propagates
// (CsvDamage::fail) or ends the table there (CsvDamage::stop, recorded in table.damage).
template <class Parse>
void parse_rows(CsvTable& table, CsvDamage on_damage, Parse parse) {
  for (std::size_t row = 0; row < table.rows.size(); ++row) {
    try {
      parse(row);
    } catch (const InputError& e) {
      if (on_damage == CsvDamage::fail) throw;
      table.truncate_at(row, e.what());
      return;
    }
  }
}

}  // namespace condense
