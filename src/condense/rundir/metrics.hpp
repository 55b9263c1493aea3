#pragma once
// RUN/metrics.csv: one row per logged step (docs/run-directory.md).
//
//   step,epoch,time_s,lr,train_loss,train_acc,test_loss,test_acc
//
// Every number of a row belongs to the weights after `step` optimizer steps (those of
// snapshots/step_<step>). An empty field is a value not measured at that step (NaN in memory).
// Numbers are written in the shortest form that reads back to the same double.
//
// A run trained outside condense may add columns of its own after these (a gradient norm, a
// learning rate per group); readers ignore them. Its epoch and lr are empty when not given.
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "condense/core/csv.hpp"

namespace condense {

struct MetricsRow {
  static constexpr double kNotMeasured = std::numeric_limits<double>::quiet_NaN();
  long step = 0;
  double epoch = 0, time_s = 0, lr = 0;
  double train_loss = kNotMeasured, train_acc = kNotMeasured;
  double test_loss = kNotMeasured, test_acc = kNotMeasured;
  // The values of the extra columns, in their order (NaN or missing: not given at this step).
  std::vector<double> extra;
};

// The table with its header; `extra_columns` (names no known column has) follow the known ones.
std::string metrics_csv(const std::vector<MetricsRow>& rows,
                        const std::vector<std::string>& extra_columns = {});

// Reads RUN/metrics.csv; columns after the known ones are not read. A damaged row (a field that is
// not a number, a line cut short, steps out of order) is an InputError naming the file and line, or
// with CsvDamage::stop the end of the rows returned, described in *damage. Throws IoError if the
// file cannot be read.
std::vector<MetricsRow> read_metrics(const std::filesystem::path& path,
                                     CsvDamage on_damage = CsvDamage::fail,
                                     std::string* damage = nullptr);

}  // namespace condense
