// Split GGUF sets, as gguf-split and llama.cpp write them: shards PREFIX-00001-of-00003.gguf,
// each a whole GGUF file carrying split.no (0-based), split.count and split.tensors.count
// (the tensors of the whole set); the first shard holds all other metadata.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "gguf/gguf_file.h"

namespace mx::gguf {

inline constexpr std::string_view kSplitNoKey = "split.no";
inline constexpr std::string_view kSplitCountKey = "split.count";
inline constexpr std::string_view kSplitTensorsKey = "split.tensors.count";
inline constexpr int64_t kMaxShards = 65535;  // split.count is a u16

// One file's place in its set.
struct SplitInfo {
  int64_t no = 0;     // 0-based
  int64_t count = 1;
  int64_t n_tensors = 0;  // over all shards
};

// The file's split keys: nullopt when it has none (an unsplit file), an error naming the file
// and the key when they are malformed (not integers, split.no outside 0..count-1, ...).
Expected<std::optional<SplitInfo>> read_split_info(const File& f);

// PREFIX-0000<no+1>-of-0000<count>.gguf (no is 0-based).
std::string shard_path(std::string_view prefix, int64_t no, int64_t count);
// The PREFIX of a path named as shard `no` of `count`; nullopt when the name does not follow.
std::optional<std::string> shard_prefix(std::string_view path, int64_t no, int64_t count);

// Opens the other shards of the set `first` starts (first.name() is its path) and checks the
// set is whole and one set: every shard present, each with the first's split.count and
// split.tensors.count and the split.no its name gives, every tensor in one shard only, and
// split.tensors.count tensors in all. Returns all shards in order, the first included.
Expected<std::vector<File>> open_split_set(File first, const SplitInfo& info);

}  // namespace mx::gguf
