// A heap buffer aligned to a cache line (64 bytes): what SIMD kernels stream from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

namespace mx {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes)
      : data_(static_cast<uint8_t*>(std::aligned_alloc(64, round_up(bytes)))), size_(bytes) {
    if (bytes != 0 && !data_) throw std::bad_alloc();
  }
  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  static size_t round_up(size_t n) { return (n + 63) / 64 * 64 + (n == 0 ? 64 : 0); }
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t size_ = 0;
};

}  // namespace mx
