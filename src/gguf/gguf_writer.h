// Writes GGUF v3 files exactly to the specification (used by tests, quantize and forge).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/expected.h"
#include "gguf/value.h"
#include "quant/types.h"

namespace mx::gguf {

class Writer {
 public:
  explicit Writer(uint32_t alignment = 32);

  // Keys keep insertion order; setting a key twice replaces its value.
  void set(std::string key, Value value);

  // Fills a tensor's bytes when the file is written, so big models never sit in memory whole.
  using Producer = std::function<void(std::span<uint8_t> out)>;
  void add_tensor(std::string name, GgmlType type, std::vector<int64_t> dims, Producer produce);
  void add_tensor(std::string name, GgmlType type, std::vector<int64_t> dims,
                  std::vector<uint8_t> data);

  // Writes `path` + ".tmp", then renames it, so a failed write never leaves a half file.
  Status write_file(const std::string& path) const;
  // The whole file in memory; empty when check() fails.
  std::vector<uint8_t> to_bytes() const;

  // What splitting a file into shards needs (gguf/split_writer.h):
  size_t n_tensors() const { return tensors_.size(); }
  uint32_t alignment() const { return alignment_; }
  // Per tensor, the bytes it adds to a file: its entry in the header and its padded data.
  Expected<std::vector<uint64_t>> tensor_file_bytes() const;
  // The header's bytes before any tensor entry: magic, counts and every key.
  uint64_t keys_bytes() const;
  // A writer of the same alignment with tensors [begin, end) (sharing their producers), and
  // the keys when `with_keys`.
  Writer slice(size_t begin, size_t end, bool with_keys) const;

  // The first problem with what was added (a bad key, array, shape, row or data size, a
  // duplicate name): the writer never emits a file the reader would reject.
  Status check() const;

 private:
  struct PendingTensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> dims;
    Producer produce;
    std::optional<size_t> given_bytes;  // size of the data passed to add_tensor, if any
  };
  struct Layout {
    std::vector<uint64_t> n_bytes;  // per tensor
    std::vector<uint64_t> offsets;  // per tensor, relative to the data section
  };
  Expected<Layout> layout() const;
  std::vector<uint8_t> header_bytes(const Layout& layout) const;  // padded to the alignment

  uint32_t alignment_;
  std::vector<std::pair<std::string, Value>> kvs_;  // in insertion order
  std::vector<PendingTensor> tensors_;
};

}  // namespace mx::gguf
