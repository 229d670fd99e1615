#include "gguf/split.h"

#include <fmt/format.h>

#include <unordered_map>

#include "gguf/printable.h"

namespace mx::gguf {
namespace {

// An integer key, or nullopt when absent; an error when it holds something else.
Expected<std::optional<int64_t>> int_key(const File& f, std::string_view key) {
  const Value* v = f.find(key);
  if (!v) return std::optional<int64_t>();
  const std::optional<int64_t> n = v->as_int();
  if (!n) return make_error("{}: {} has type {}, expected an integer", f.name(), key, value_type_name(v->type()));
  return n;
}

// Checks a later shard against the first and against its place in the set.
Status check_shard(const File& shard, int64_t index, const SplitInfo& first_info, const std::string& first_path) {
  std::optional<SplitInfo> info;
  MX_TRY_ASSIGN(info, read_split_info(shard));
  if (!info)
    return make_error("{}: has no {} key, so it is not shard {} of {} of '{}'", shard.name(), kSplitCountKey,
                      index + 1, first_info.count, first_path);
  if (info->count != first_info.count)
    return make_error("{}: {} is {}, but the first shard '{}' says {}: the files belong to different split sets",
                      shard.name(), kSplitCountKey, info->count, first_path, first_info.count);
  if (info->no != index)
    return make_error("{}: {} is {} (shard {}), but its name makes it shard {} of {}", shard.name(), kSplitNoKey,
                      info->no, info->no + 1, index + 1, first_info.count);
  if (info->n_tensors != first_info.n_tensors)
    return make_error("{}: {} is {}, but the first shard '{}' says {}: the files belong to different split sets",
                      shard.name(), kSplitTensorsKey, info->n_tensors, first_path, first_info.n_tensors);
  return {};
}

// Every tensor in one shard only, and as many as the first shard announced.
Status check_tensors(const std::vector<File>& shards, const SplitInfo& info) {
  std::unordered_map<std::string_view, size_t> owner;  // tensor name -> shard
  int64_t total = 0;
  for (size_t s = 0; s < shards.size(); ++s) {
    for (const TensorInfo& t : shards[s].tensors()) {
      const auto [it, added] = owner.emplace(t.name, s);
      if (!added)
        return make_error("tensor '{}' is in two shards of the split model: '{}' and '{}'", printable(t.name),
                          shards[it->second].name(), shards[s].name());
      ++total;
    }
  }
  if (total != info.n_tensors)
    return make_error("{}: {} is {}, but the {} shards hold {} tensors", shards[0].name(), kSplitTensorsKey,
                      info.n_tensors, shards.size(), total);
  return {};
}

}  // namespace

Expected<std::optional<SplitInfo>> read_split_info(const File& f) {
  std::optional<int64_t> no, count, n_tensors;
  MX_TRY_ASSIGN(no, int_key(f, kSplitNoKey));
  MX_TRY_ASSIGN(count, int_key(f, kSplitCountKey));
  MX_TRY_ASSIGN(n_tensors, int_key(f, kSplitTensorsKey));
  if (!no && !count && !n_tensors) return std::optional<SplitInfo>();
  const std::pair<std::string_view, bool> present[] = {{kSplitNoKey, no.has_value()},
                                                       {kSplitCountKey, count.has_value()},
                                                       {kSplitTensorsKey, n_tensors.has_value()}};
  for (const auto& [key, found] : present)
    if (!found) return make_error("{}: has split keys but no {} (a broken split file?)", f.name(), key);
  if (*count < 1 || *count > kMaxShards)
    return make_error("{}: {} {} is outside 1..{}", f.name(), kSplitCountKey, *count, kMaxShards);
  if (*no < 0 || *no >= *count)
    return make_error("{}: {} {} is out of range: shards are numbered 0..{} ({} {})", f.name(), kSplitNoKey, *no,
                      *count - 1, kSplitCountKey, *count);
  if (*n_tensors < 0) return make_error("{}: {} {} is negative", f.name(), kSplitTensorsKey, *n_tensors);
  return std::optional<SplitInfo>(SplitInfo{.no = *no, .count = *count, .n_tensors = *n_tensors});
}

std::string shard_path(std::string_view prefix, int64_t no, int64_t count) {
  return fmt::format("{}-{:05d}-of-{:05d}.gguf", prefix, no + 1, count);
}

std::optional<std::string> shard_prefix(std::string_view path, int64_t no, int64_t count) {
  const std::string suffix = fmt::format("-{:05d}-of-{:05d}.gguf", no + 1, count);
  if (path.size() <= suffix.size() || !path.ends_with(suffix)) return std::nullopt;
  return std::string(path.substr(0, path.size() - suffix.size()));
}

Expected<std::vector<File>> open_split_set(File first, const SplitInfo& info) {
  const std::string first_path = first.name();
  const std::optional<std::string> prefix = shard_prefix(first_path, 0, info.count);
  if (!prefix)
    return make_error("{}: the first of {} shards ({} {}), but its name does not end in '{}', so the other shards "
                      "cannot be found (keep the names gguf-split gave them)",
                      first_path, info.count, kSplitCountKey, info.count, shard_path("", 0, info.count));
  std::vector<File> shards;
  shards.push_back(std::move(first));
  for (int64_t i = 1; i < info.count; ++i) {
    auto shard = File::open_single(shard_path(*prefix, i, info.count));
    if (!shard)
      return make_error("{}: cannot read shard {} of {} of this split model: {}", first_path, i + 1, info.count,
                        shard.error().message);
    if (Status s = check_shard(*shard, i, info, first_path); !s) return s.error();
    shards.push_back(std::move(*shard));
  }
  if (Status s = check_tensors(shards, info); !s) return s.error();
  return shards;
}

}  // namespace mx::gguf
