#include "cli/config_file.h"

#include <algorithm>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace mx::cli {
namespace {

// The file's items with the same key merged, in first-seen order: a key repeated anywhere
// adds values (CLI11 keeps only the first of non-adjacent repeats).
std::vector<CLI::ConfigItem> merged_items(const CLI::App& sub, const std::string& path) {
  std::vector<CLI::ConfigItem> out;
  for (CLI::ConfigItem& item : sub.get_config_formatter()->from_file(path)) {
    if (item.name == "++" || item.name == "--") continue;  // a table's start and end
    if (!item.parents.empty() && item.parents != std::vector<std::string>{sub.get_name()})
      throw CLI::ConfigError(fmt::format("{}: unknown table [{}]", path, fmt::join(item.parents, ".")));
    auto same = std::find_if(out.begin(), out.end(), [&](const CLI::ConfigItem& o) { return o.name == item.name; });
    if (same == out.end()) out.push_back(std::move(item));
    else same->inputs.insert(same->inputs.end(), item.inputs.begin(), item.inputs.end());
  }
  return out;
}

void apply_file(CLI::App& sub, const std::string& path) {
  for (const CLI::ConfigItem& item : merged_items(sub, path)) {
    CLI::Option* op = sub.get_option_no_throw("--" + item.name);
    if (!op && item.name.size() == 1) op = sub.get_option_no_throw("-" + item.name);
    if (!op || !op->get_configurable())
      throw CLI::ConfigError(fmt::format("{}: unknown key '{}' (keys are {}'s long option names, without --)", path,
                                         item.name, sub.get_name()));
    if (!op->empty()) continue;  // given on the command line: it wins
    try {
      if (op->get_expected_min() == 0)
        op->add_result(op->get_flag_value(item.name, sub.get_config_formatter()->to_flag(item)));
      else
        op->add_result(item.inputs);
      op->run_callback();
    } catch (const CLI::ParseError& e) {
      throw CLI::ConfigError(fmt::format("{}: {}: {}", path, item.name, e.what()));
    }
  }
}

}  // namespace

void add_config_option(CLI::App& sub) {
  auto path = std::make_shared<std::string>();
  sub.add_option("--config", *path,
                 "TOML file of these options: one `long-name = value` a line, e.g. port = 8080, model = \"/path/m.gguf\" "
                 "(several: model = [\"a.gguf\", \"b.gguf\"]), drain-timeout = 30, a flag as true/false; keys may sit "
                 "under a [" + sub.get_name() + "] table; the command line wins over the file")
      ->configurable(false)
      ->check(CLI::ExistingFile);
  sub.parse_complete_callback([&sub, path] {
    if (!path->empty()) apply_file(sub, *path);
  });
}

}  // namespace mx::cli
