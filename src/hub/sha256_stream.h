// SHA-256 of a stream fed piece by piece, as a download arrives. OpenSSL's implementation,
// which uses the CPU's SHA instructions (several GB/s) where core/sha256's portable one
// would be the bottleneck of a fast download.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace mx::hub {

class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void reset();
  void update(const void* data, size_t n);
  std::string hex_digest();  // lowercase; the stream must be reset() before reuse

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// SHA-256 of a file's first `length` bytes (the part of a download already on disk).
bool hash_file_prefix(int fd, uint64_t length, Sha256Stream& sha);

}  // namespace mx::hub
