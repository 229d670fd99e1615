// Which GGUF file(s) of a repo a quantization tag means: the file whose name carries the tag
// (case-insensitive), all shards of a split set, Q4_K_M when no tag is given (as llama.cpp's
// -hf does), projector files (mmproj) never.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "hub/repo_file.h"

namespace mx::hub {

inline constexpr std::string_view kDefaultQuant = "Q4_K_M";

struct Selection {
  std::string quant;            // as found in the file name, upper case ("Q4_K_M")
  std::vector<RepoFile> files;  // one file, or every shard of a split set in order
};

// The quantization tag in a GGUF file name ("Qwen3-4B-Q4_K_M-00001-of-00002.gguf" -> "Q4_K_M"),
// upper case; empty when the name carries none.
std::string quant_of_filename(std::string_view path);

// Shard number and count of a split file name ("...-00002-of-00003.gguf" -> {2, 3}); {0, 0} if not split.
struct ShardNumber {
  int index = 0;
  int count = 0;
};
ShardNumber shard_of_filename(std::string_view path);

// The quantizations the repo has, sorted, each once (for error messages and listings).
std::vector<std::string> available_quants(const RepoTree& tree);

// Picks the files for `quant` (empty = the default). `repo` names the repo in errors.
Expected<Selection> select_gguf(const RepoTree& tree, std::string_view quant, std::string_view repo);

// The files of the split set `file` belongs to (just `file` if it is not split), in order.
Expected<Selection> select_file(const RepoTree& tree, std::string_view file, std::string_view repo);

}  // namespace mx::hub
