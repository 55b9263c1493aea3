#include <fmt/format.h>

#include "condense/cli/commands.hpp"
#include "condense/config/config.hpp"

namespace condense {

void add_config_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "config", "List every configuration key with its default and meaning, or print a "
                "config file fully resolved");
  auto file = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  auto markdown = std::make_shared<bool>(false);
  command->add_option("CONFIG", *file, "A config file to resolve (every default filled in)");
  command->add_option("--set", *overrides, "Override a key: --set train.lr=0.01")
      ->allow_extra_args(false);
  command->add_flag("--markdown", *markdown, "Print the key list as a Markdown table");
  command->callback([=] {
    if (!file->empty() || !overrides->empty()) {
      const LoadedConfig loaded = load_config_and_warnings(*file, *overrides);
      for (const auto& warning : loaded.warnings)
        fmt::print(stderr, "condense: warning: {}\n", warning);
      fmt::print("{}", to_toml(loaded.config));
      return;
    }
    if (*markdown) {
      fmt::print("{}", config_reference_markdown());
      return;
    }
    std::string section;
    for (const auto& key : config_keys()) {
      fmt::print("{:<24} = {:<30} # {}\n", key.key, key.default_value, key.description);
    }
  });
}

}  // namespace condense
