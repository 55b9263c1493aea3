#include "condense/rundir/metrics.hpp"

#include <fmt/format.h>

namespace condense {

namespace {

constexpr const char* kColumns[] = {"step",       "epoch",     "time_s",    "lr",
                                    "train_loss", "train_acc", "test_loss", "test_acc"};

std::string field(double value) { return std::isnan(value) ? "" : fmt::format("{}", value); }

}  // namespace

std::string metrics_csv(const std::vector<MetricsRow>& rows) {
  std::string text = "step,epoch,time_s,lr,train_loss,train_acc,test_loss,test_acc\n";
  for (const auto& r : rows)
    text += fmt::format("{},{},{:.4f},{},{},{},{},{}\n", r.step, r.epoch, r.time_s, r.lr,
                        field(r.train_loss), field(r.train_acc), field(r.test_loss),
                        field(r.test_acc));
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
      // Only an empty field means "not measured"; epoch, time and learning rate always are.
      if (!text.empty() && !std::isfinite(value))
        fail_input("{}: column {} is {}, expected a finite number", table.where(r), kColumns[i],
                   text);
      if (text.empty() && i <= 3) fail_input("{}: column {} is empty", table.where(r), kColumns[i]);
      *values[i - 1] = value;
    }
    rows.push_back(row);
  });
  if (damage) *damage = table.damage;
  return rows;
}

}  // namespace condense
