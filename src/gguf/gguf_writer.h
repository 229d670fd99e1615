// Writes GGUF v3 files exactly to the specification (used by tests, quantize and forge).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
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

  Status write_file(const std::string& path) const;
  std::vector<uint8_t> to_bytes() const;
};

}  // namespace mx::gguf
