// Writes a GGUF file as a split set (gguf/split.h), as gguf-split does: tensors in order, a
// new shard when the next tensor would take the current one past a limit, the first shard
// with all metadata, every shard with the split keys.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/expected.h"
#include "gguf/gguf_writer.h"

namespace mx::gguf {

struct SplitLimits {
  uint64_t max_bytes = 0;   // per shard file, headers included; 0: no limit
  int64_t max_tensors = 0;  // per shard; 0: no limit
  bool any() const { return max_bytes > 0 || max_tensors > 0; }
};

// The first tensor of each shard. Every shard holds at least one tensor, so one tensor
// larger than max_bytes makes a shard of its own that exceeds the limit.
Expected<std::vector<size_t>> plan_shards(const Writer& whole, const SplitLimits& limits);

// Without limits, writes `whole` to out_path. With limits, writes shards named from out_path
// (out.gguf -> out-00001-of-00003.gguf, ...). Returns the paths written; on an error, none
// of the shards stays behind.
Expected<std::vector<std::string>> write_split(const Writer& whole, const std::string& out_path,
                                               const SplitLimits& limits);

}  // namespace mx::gguf
