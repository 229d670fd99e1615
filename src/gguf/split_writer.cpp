#include "gguf/split_writer.h"

#include <cstdio>

#include "gguf/split.h"

namespace mx::gguf {
namespace {

void set_split_keys(Writer& w, size_t no, size_t count, size_t n_tensors) {
  // The types gguf-split writes (llama.cpp reads them with these types).
  w.set(std::string(kSplitNoKey), {static_cast<uint16_t>(no)});
  w.set(std::string(kSplitCountKey), {static_cast<uint16_t>(count)});
  w.set(std::string(kSplitTensorsKey), {static_cast<int32_t>(n_tensors)});
}

// Header bytes of a shard before its tensor entries, padding included (an upper bound).
uint64_t fixed_bytes(const Writer& whole, bool first, uint32_t alignment) {
  Writer w = whole.slice(0, 0, first);
  set_split_keys(w, 0, 1, 0);
  return w.keys_bytes() + alignment;
}

}  // namespace

Expected<std::vector<size_t>> plan_shards(const Writer& whole, const SplitLimits& limits) {
  std::vector<uint64_t> bytes;
  MX_TRY_ASSIGN(bytes, whole.tensor_file_bytes());
  const uint32_t alignment = whole.alignment();
  std::vector<size_t> starts = {0};
  uint64_t used = fixed_bytes(whole, true, alignment);
  const uint64_t later_fixed = fixed_bytes(whole, false, alignment);
  for (size_t i = 0; i < bytes.size(); ++i) {
    const size_t in_shard = i - starts.back();
    const bool too_big = limits.max_bytes > 0 && used + bytes[i] > limits.max_bytes;
    const bool too_many = limits.max_tensors > 0 && static_cast<int64_t>(in_shard) >= limits.max_tensors;
    if (in_shard > 0 && (too_big || too_many)) {
      starts.push_back(i);
      used = later_fixed;
    }
    used += bytes[i];
  }
  if (starts.size() > static_cast<size_t>(kMaxShards))
    return make_error("gguf writer: {} shards needed, more than split.count can say ({}); raise the limits",
                      starts.size(), kMaxShards);
  return starts;
}

Expected<std::vector<std::string>> write_split(const Writer& whole, const std::string& out_path,
                                               const SplitLimits& limits) {
  if (!limits.any()) {
    if (Status s = whole.write_file(out_path); !s) return s.error();
    return std::vector<std::string>{out_path};
  }
  std::vector<size_t> starts;
  MX_TRY_ASSIGN(starts, plan_shards(whole, limits));
  const std::string prefix =
      out_path.ends_with(".gguf") ? out_path.substr(0, out_path.size() - 5) : out_path;
  std::vector<std::string> written;
  for (size_t s = 0; s < starts.size(); ++s) {
    const size_t end = s + 1 < starts.size() ? starts[s + 1] : whole.n_tensors();
    Writer shard = whole.slice(starts[s], end, s == 0);
    set_split_keys(shard, s, starts.size(), whole.n_tensors());
    const std::string path = shard_path(prefix, static_cast<int64_t>(s), static_cast<int64_t>(starts.size()));
    if (Status st = shard.write_file(path); !st) {
      for (const std::string& p : written) std::remove(p.c_str());
      return st.error();
    }
    written.push_back(path);
  }
  return written;
}

}  // namespace mx::gguf
