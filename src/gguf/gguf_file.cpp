#include "gguf/gguf_file.h"

#include <fmt/format.h>

#include "gguf/parser.h"
#include "gguf/split.h"

namespace mx::gguf {

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;  // the parser rejected products that overflow
  return n;
}

Expected<File> File::open_single(const std::string& path) {
  auto mapped = MappedFile::open(path);
  if (!mapped) return mapped.error();
  std::shared_ptr<MappedFile> mapping = std::move(*mapped);
  auto file = parse_gguf(mapping->bytes(), path);
  if (!file) return file.error();
  file->mappings_.push_back(std::move(mapping));
  return file;
}

Expected<File> File::open(const std::string& path) {
  File first;
  MX_TRY_ASSIGN(first, open_single(path));
  std::optional<SplitInfo> split;
  MX_TRY_ASSIGN(split, read_split_info(first));
  if (!split) return first;
  if (split->no != 0) {
    const std::optional<std::string> prefix = shard_prefix(path, split->no, split->count);
    return make_error("{}: this is shard {} of {} of a split model: open its first shard{}", path, split->no + 1,
                      split->count,
                      prefix ? fmt::format(", '{}'", shard_path(*prefix, 0, split->count))
                             : fmt::format(" (the one with {} 0)", kSplitNoKey));
  }
  std::vector<File> shards;
  MX_TRY_ASSIGN(shards, open_split_set(std::move(first), *split));
  return merge(std::move(shards));
}

File File::merge(std::vector<File> shards) {
  File out = std::move(shards[0]);
  for (size_t s = 1; s < shards.size(); ++s) {
    File& shard = shards[s];
    for (auto& m : shard.mappings_) out.mappings_.push_back(std::move(m));
    out.shards_.push_back(shard.shards_.at(0));
    for (TensorInfo& t : shard.tensors_) {
      out.tensor_index_.emplace(t.name, out.tensors_.size());
      out.tensors_.push_back(std::move(t));  // data still points into the shard's mapping
    }
  }
  return out;
}

uint64_t File::file_size() const {
  uint64_t n = 0;
  for (const Shard& s : shards_) n += s.size;
  return n;
}

Expected<File> File::parse(std::span<const uint8_t> bytes, std::string name) {
  return parse_gguf(bytes, std::move(name));
}

const Value* File::find(std::string_view key) const {
  const auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second].value;
}

std::optional<int64_t> File::get_int(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_int() : std::nullopt;
}

std::optional<double> File::get_float(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_float() : std::nullopt;
}

std::optional<bool> File::get_bool(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_bool() : std::nullopt;
}

std::optional<std::string> File::get_string(std::string_view key) const {
  const Value* v = find(key);
  const std::string* s = v ? v->as_string() : nullptr;
  return s ? std::optional<std::string>(*s) : std::nullopt;
}

const Array* File::get_array(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_array() : nullptr;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

void File::drop_tensor_pages(const TensorInfo& tensor) const {
  for (const auto& m : mappings_) m->drop_pages(tensor.data, tensor.n_bytes);  // no-op outside m
}

}  // namespace mx::gguf
