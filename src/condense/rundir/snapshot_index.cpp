#include "condense/rundir/snapshot_index.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace condense {

namespace {

std::string folder_name(long step) { return "step_" + std::to_string(step); }

}  // namespace

std::string snapshot_index_csv(const std::vector<long>& steps) {
  std::string text = "step,path\n";
  for (long s : steps) text += fmt::format("{},{}\n", s, folder_name(s));
  return text;
}

std::vector<SnapshotEntry> read_snapshot_index(const std::filesystem::path& snapshots,
                                               CsvDamage on_damage, std::string* damage) {
  CsvTable table = read_csv(snapshots / "index.csv", on_damage);
  if (table.header != std::vector<std::string>{"step", "path"})
    fail_input("{}: the header is \"{}\", expected \"step,path\"",
               (snapshots / "index.csv").string(), fmt::join(table.header, ","));
  std::vector<SnapshotEntry> entries;
  parse_rows(table, on_damage, [&](std::size_t r) {
    const long step = table.integer(r, 0);
    if (step < 0) fail_input("{}: step {} is negative", table.where(r), step);
    if (!entries.empty() && step <= entries.back().step)
      fail_input("{}: step {} does not follow step {}: the steps must increase from 0",
                 table.where(r), step, entries.empty() ? 0 : entries.back().step);
    const std::string& path = table.rows[r][1];
    if (path != folder_name(step))
      fail_input("{}: the path of step {} is \"{}\", expected \"{}\"", table.where(r), step,
                 path.size() > 80 ? path.substr(0, 80) + "…" : path, folder_name(step));
    entries.push_back({step, snapshots / path});
  });
  if (damage) *damage = table.damage;
  return entries;
}

}  // namespace condense
