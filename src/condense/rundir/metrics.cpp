#include "condense/rundir/metrics.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iterator>

#include "condense/core/error.hpp"

namespace condense {

namespace {

constexpr const char* kColumns[] = {"step",       "epoch",     "time_s",    "lr",
                                    "train_loss", "train_acc", "test_loss", "test_acc"};

std::string field(double value) { return std::isnan(value) ? "" : fmt::format("{}", value); }

}  // namespace

std::string metrics_csv(const std::vector<MetricsRow>& rows,
                        const std::vector<std::string>& extra_columns) {
  for (const std::string& name : extra_columns)
    if (name.empty() || name.find_first_of(",\"\r\n") != std::string::npos ||
        std::find(std::begin(kColumns), std::end(kColumns), name) != std::end(kColumns) ||
        std::count(extra_columns.begin(), extra_columns.end(), name) > 1)
      fail_input(
          "metrics.csv: \"{}\" cannot name an extra column: expected a name other than "
          "{} and the other extra columns, without commas, quotes or line breaks",
          name, fmt::join(kColumns, ", "));
  std::string text = "step,epoch,time_s,lr,train_loss,train_acc,test_loss,test_acc";
  for (const std::string& name : extra_columns) {
    text += ',';
    text += name;
  }
  text += '\n';
  for (const auto& r : rows) {
    text +=
        fmt::format("{},{},{:.4f},{},{},{},{},{}", r.step, field(r.epoch), r.time_s, field(r.lr),
                    field(r.train_loss), field(r.train_acc), field(r.test_loss), field(r.test_acc));
    for (std::size_t i = 0; i < extra_columns.size(); ++i) {
      text += ',';
      if (i < r.extra.size()) text += field(r.extra[i]);
    }
    text += '\n';
  }
  return text;
}

std::vector<MetricsRow> read_metrics(const std::filesystem::path& path, CsvDamage on_damage,
                                     std::string* damage) {
  CsvTable table = read_csv(path, on_damage);
  std::size_t columns[std::size(kColumns)];
  for (std::size_t i = 0; i < std::size(kColumns); ++i) columns[i] = table.column(kColumns[i]);
  std::vector<MetricsRow> rows;
  parse_rows(table, on_damage, [&](std::size_t r) {
    MetricsRow row;
    row.step = table.integer(r, columns[0]);
    if (row.step < 0 || (!rows.empty() && row.step <= rows.back().step))
      fail_input("{}: step {} does not follow step {}: the steps must increase", table.where(r),
                 row.step, rows.empty() ? 0 : rows.back().step);
    double* values[] = {&row.epoch,     &row.time_s,   &row.lr,        &row.train_loss,
                        &row.train_acc, &row.test_loss, &row.test_acc};
    for (std::size_t i = 1; i < std::size(kColumns); ++i) {
      const std::string& text = table.rows[r][columns[i]];
      const double value = table.number(r, columns[i]);
      // Only an empty field means "not measured"; the time always is. Epoch and learning rate
      // are empty only in a run trained outside condense that did not give them.
      if (!text.empty() && !std::isfinite(value))
        fail_input("{}: column {} is {}, expected a finite number", table.where(r), kColumns[i],
                   text);
      if (text.empty() && i == 2) fail_input("{}: column {} is empty", table.where(r), kColumns[i]);
      *values[i - 1] = value;
    }
    rows.push_back(row);
  });
  if (damage) *damage = table.damage;
  return rows;
}

}  // namespace condense
