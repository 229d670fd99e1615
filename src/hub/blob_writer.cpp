#include "hub/blob_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>

namespace mx::hub {

BlobWriter::BlobWriter(int fd, uint64_t start, Sha256Stream& sha)
    : fd_(fd), sha_(sha), accepted_(start), written_(start) {
  filling_.reserve(kBufferBytes);
  for (size_t i = 1; i < kBuffers; ++i) free_.emplace_back().reserve(kBufferBytes);
  worker_ = std::thread([this] { run(); });
}

BlobWriter::~BlobWriter() { finish(); }

bool BlobWriter::append(const char* data, size_t n) {
  while (n > 0) {
    const size_t take = std::min(n, kBufferBytes - filling_.size());
    filling_.insert(filling_.end(), data, data + take);
    data += take;
    n -= take;
    accepted_ += take;
    if (filling_.size() == kBufferBytes) hand_over();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  return error_ == 0;
}

void BlobWriter::hand_over() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !free_.empty(); });
  full_.push_back(std::move(filling_));
  filling_ = std::move(free_.front());
  free_.pop_front();
  filling_.clear();
  changed_.notify_all();
}

void BlobWriter::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return !full_.empty() || done_; });
    if (full_.empty()) return;  // done and drained
    std::vector<char> buf = std::move(full_.front());
    full_.pop_front();
    const bool failed = error_ != 0;
    uint64_t at = written_;
    lock.unlock();
    // After a failed write nothing more is written, so the file stays a prefix of the download.
    // Slice by slice, hashed then written while the slice is still in the L2 cache. A failed
    // write ends the download, and a resume hashes the file again, so hashing first is safe.
    int err = 0;
    for (size_t slice = 0; !failed && err == 0 && slice < buf.size(); slice += kSliceBytes) {
      const size_t end = std::min(buf.size(), slice + kSliceBytes);
      sha_.update(buf.data() + slice, end - slice);
      for (size_t done = slice; done < end;) {
        const ssize_t w = ::pwrite(fd_, buf.data() + done, end - done, static_cast<off_t>(at));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          err = w < 0 ? errno : ENOSPC;
          break;
        }
        done += static_cast<size_t>(w);
        at += static_cast<uint64_t>(w);
      }
    }
    lock.lock();
    written_ = at;
    if (err != 0 && error_ == 0) error_ = err;
    buf.clear();
    free_.push_back(std::move(buf));
    changed_.notify_all();
  }
}

uint64_t BlobWriter::finish() {
  if (worker_.joinable()) {
    if (!filling_.empty()) hand_over();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    changed_.notify_all();
    worker_.join();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  return written_;
}

int BlobWriter::error() {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

}  // namespace mx::hub
