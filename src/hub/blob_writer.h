// Writes a download to its partial file on a second thread and hashes it,
// so receiving (curl's thread) overlaps writing and hashing: SHA-256 costs about half a
// second per GB even with the CPU's SHA instructions, as much as the transfer itself.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "hub/sha256_stream.h"

namespace mx::hub {

class BlobWriter {
 public:
  // Appends at byte `start` of `fd`; the bytes before it are already in `sha`.
  BlobWriter(int fd, uint64_t start, Sha256Stream& sha);
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // Queues bytes (copied); false once a write has failed, so the caller stops the transfer.
  bool append(const char* data, size_t n);
  uint64_t accepted() const { return accepted_; }  // start + bytes given to append
  // Waits for every queued byte; returns the file's length: what was written and hashed.
  uint64_t finish();
  int error();  // errno of the first failed write, 0 if none

 private:
  void hand_over();  // queues the buffer being filled
  void run();

  static constexpr size_t kBufferBytes = 1 << 20;
  static constexpr size_t kBuffers = 8;  // at most 8 MiB in flight
  static constexpr size_t kSliceBytes = 256 << 10;
  int fd_;
  Sha256Stream& sha_;
  uint64_t accepted_;
  uint64_t written_;          // guarded by mutex_
  int error_ = 0;             // guarded by mutex_
  bool done_ = false;         // guarded by mutex_
  std::vector<char> filling_;
  std::deque<std::vector<char>> full_, free_;  // guarded by mutex_
  std::mutex mutex_;
  std::condition_variable changed_;
  std::thread worker_;
};

}  // namespace mx::hub
