// Writes a download to its partial file and hashes it on a second thread, so receiving and
// writing (curl's thread) overlap hashing: SHA-256 costs about half a second per GB even with
// the CPU's SHA instructions, as much as the transfer itself.
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

  // Writes the bytes and queues them for hashing; false once a write failed (the caller
  // stops the transfer). The file stays a prefix of the download, hashed exactly.
  bool append(const char* data, size_t n);
  uint64_t written() const { return written_; }
  // Waits until every written byte is hashed; returns the file's length.
  uint64_t finish();
  int error() const { return error_; }  // errno of the failed write, 0 if none

 private:
  void hand_over();  // queues the buffer being filled for the hashing thread
  void run();

  static constexpr size_t kBufferBytes = 1 << 20;
  static constexpr size_t kBuffers = 8;  // at most 8 MiB waiting for the hash
  int fd_;
  Sha256Stream& sha_;
  uint64_t written_;
  int error_ = 0;
  std::vector<char> filling_;
  bool done_ = false;                          // guarded by mutex_
  std::deque<std::vector<char>> full_, free_;  // guarded by mutex_
  std::mutex mutex_;
  std::condition_variable changed_;
  std::thread worker_;
};

}  // namespace mx::hub
