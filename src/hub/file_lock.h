// An exclusive lock on a file (flock), held until destruction: two processes or threads
// downloading the same blob take turns, the second finds the blob already there. It is the
// lock huggingface_hub takes too (Python's filelock uses flock on the same .lock path).
#pragma once

#include <string>

#include "core/expected.h"

namespace mx::hub {

class FileLock {
 public:
  // Creates the lock file (and its folder) if needed and waits until the lock is ours.
  static Expected<FileLock> acquire(const std::string& path);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace mx::hub
