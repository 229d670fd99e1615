// A heap buffer aligned to a cache line (64 bytes): what SIMD kernels stream from. Buffers
// of 2 MiB or more are aligned to 2 MiB and asked for transparent huge pages: streaming
// packed weights then costs one TLB miss per 2 MiB instead of one per 4 KiB page.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "core/round_up.h"

namespace mx {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes) : size_(bytes) {
    const size_t align = bytes >= kHugePage ? kHugePage : 64;
    data_.reset(static_cast<uint8_t*>(std::aligned_alloc(align, padded(bytes, align))));
    if (bytes != 0 && !data_) throw std::bad_alloc();
    if (align == kHugePage) ::madvise(data_.get(), padded(bytes, align), MADV_HUGEPAGE);
  }
  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  static constexpr size_t kHugePage = size_t{2} << 20;
  // aligned_alloc needs a multiple of the alignment, and a zero-byte request still gets one.
  static size_t padded(size_t n, size_t a) { return n == 0 ? a : round_up(n, a); }
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t size_ = 0;
};

}  // namespace mx
