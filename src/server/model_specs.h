// The models a `moxing serve` command line offers, as registry entries: each -m, then every
// GGUF of --models-dir (of a split set, its first shard only), with their aliases.
//
// Ids: a file's stem (a split set's without "-00001-of-0000N"); an -m that is not a file
// (a hub name) keeps its text. Aliases: `--alias NAME` goes to the -m of the same rank (the
// first plain alias to the first -m, ...); `--alias MODEL=NAME` to the model whose id or -m
// text is MODEL (any model, those of --models-dir too). Every id and alias must be unique.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "server/model_registry.h"

namespace mx::server {

Expected<std::vector<ModelSpec>> model_specs(const std::vector<std::string>& models, const std::string& models_dir,
                                             const std::vector<std::string>& aliases);

// The id a model is served under (see above): the file's stem, or the name as typed.
std::string model_id(const std::string& arg);

// "8G", "512M", "1.5GiB", "4096" (bytes): binary units K, M, G, T, with an optional "iB"/"B".
Expected<int64_t> parse_size(std::string_view text);

}  // namespace mx::server
