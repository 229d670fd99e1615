// `--config FILE` for a subcommand: its options read from a TOML file, one `long-name = value`
// per line, the command line winning over the file. CLI11 reads config files for the main app
// only, so the subcommand applies the file itself once its command line is parsed.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace mx::cli {

// Adds --config to `sub`. Keys are the long option names without "--" (top level, or under a
// [NAME] table named after the subcommand); a repeatable option takes an array or repeated
// keys; a flag takes true / false. An unknown key or a bad value is a usage error naming the
// file and the key.
void add_config_option(CLI::App& sub);

}  // namespace mx::cli
