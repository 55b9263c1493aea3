#pragma once
// One row of numbers per run directory, for the tables of a series of runs (experiment.csv of
// `condense run`, sweep.csv of `condense sweep`), and the small text helpers those pages share.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "condense/config/config.hpp"
#include "condense/report/run_data.hpp"

namespace condense {

// (column, value) pairs; a value is "" where nothing was measured.
using RunRow = std::vector<std::pair<std::string, std::string>>;

// The summary of one run directory: status, steps, training time, the final metrics and their
// best over training (min_train_loss, max_train_acc, min_test_loss, max_test_acc); per
// tracked layer the final and extreme condensation measures (<layer>.<measure> columns: final and
// peak mean |cos|, the step of that peak and the lines there, the final lines, orientations,
// effective rank, RD, the largest RD, align_v1 and its largest value); the predicted and measured
// time scales.
RunRow run_row(const RunData& run);

// The per-layer measures of run_row, in column order (without the "<layer>." prefix).
const std::vector<std::string>& layer_measure_columns();

// The columns of rows, in order of first appearance (the union: runs may track different layers).
std::vector<std::string> row_columns(const std::vector<RunRow>& rows);
// The value of `column` in `row`, or "".
std::string row_value(const RunRow& row, const std::string& column);

// A CSV field, quoted when it holds a comma or a quote; line breaks become spaces.
std::string csv_field(const std::string& text);
// CSV text with a header line: `columns`, then each row's values in that order.
std::string rows_csv(const std::vector<std::string>& columns, const std::vector<RunRow>& rows);

// A folder name from a label: letters, digits and . - _ = + kept, anything else '_'.
std::string folder_name(const std::string& label);

// Whether the run directory `root` holds a run of the same settings as `config`: its
// config.toml, read with today's defaults for keys it predates, resolves to the same config. The
// thread count does not count (results do not depend on it).
bool same_settings(const std::filesystem::path& root, const RunConfig& config);

}  // namespace condense
