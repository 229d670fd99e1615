// A read-only memory-mapped file. Weights are views into it, never copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/expected.h"

namespace mx {

class MappedFile {
 public:
  static Expected<std::unique_ptr<MappedFile>> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  // Tells the kernel the whole pages inside [p, p + n) are not needed now (their bytes
  // live on in a copy): they leave memory and are read from the file again if touched.
  void drop_pages(const uint8_t* p, size_t n) const;
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace mx
