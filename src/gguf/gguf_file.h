// Reader for GGUF v2 and v3 files: memory-mapped, every field validated before use.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/expected.h"
#include "core/mapped_file.h"
#include "gguf/value.h"
#include "quant/types.h"

namespace mx::gguf {

struct KeyValue {
  std::string key;
  Value value;
};

struct TensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // ne[0] first: ne[0] is the row length (contiguous)
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;        // relative to the start of its shard's data section
  size_t n_bytes = 0;         // validated: inside the file, not overlapping another tensor
  const uint8_t* data = nullptr;  // points into the mapped file (its shard's)

  int64_t n_elements() const;
  int64_t n_rows() const { return dims.empty() ? 1 : n_elements() / dims[0]; }
};

// One file read: the whole File for an unsplit model, or one shard of a split set.
struct Shard {
  std::string path;
  uint64_t size = 0;  // bytes
  size_t n_tensors = 0;
};

class File {
 public:
  // A model: maps the file and parses it, and when it is the first shard of a split set
  // (gguf/split.h), every shard of the set, validated and seen as one file: metadata from
  // the first shard, the tensors of all shards in shard order. A later shard of a set is an
  // error naming the first shard. The File keeps every mapping alive.
  static Expected<File> open(const std::string& path);
  // Exactly this file, a shard alone included (its own metadata and tensors).
  static Expected<File> open_single(const std::string& path);
  // Parses bytes the caller owns and keeps alive (tests, fuzzing). `name` appears in errors.
  static Expected<File> parse(std::span<const uint8_t> bytes, std::string name = "<memory>");

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }     // of the first shard
  uint64_t data_offset() const { return data_offset_; } // in the first shard
  const std::string& name() const { return name_; }     // the path opened
  uint64_t file_size() const;  // bytes of all shards together
  // The files read, in order: one unless this is a split set.
  const std::vector<Shard>& shards() const { return shards_; }

  const std::vector<KeyValue>& metadata() const { return metadata_; }
  const Value* find(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  const Array* get_array(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // A tensor whose bytes the caller has copied (e.g. repacked): its pages may leave memory.
  // Reading it again stays valid (its shard is re-read). No-op for borrowed bytes.
  void drop_tensor_pages(const TensorInfo& tensor) const;
  const TensorInfo* find_tensor(std::string_view name) const;

 private:
  // The validated shards of one set as one File (the first shard's metadata).
  static File merge(std::vector<File> shards);

  std::vector<std::shared_ptr<MappedFile>> mappings_;  // one per shard; none for borrowed bytes
  std::span<const uint8_t> bytes_;  // the first shard's
  std::vector<Shard> shards_;
  std::string name_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<KeyValue> metadata_;
  std::vector<TensorInfo> tensors_;

  // Lookups by name with a string_view, no temporary std::string.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using NameIndex = std::unordered_map<std::string, size_t, NameHash, std::equal_to<>>;
  NameIndex key_index_;     // key -> position in metadata_
  NameIndex tensor_index_;  // tensor name -> position in tensors_

  friend class Parser;
};

}  // namespace mx::gguf
