#include "hub/blob_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace mx::hub {

BlobWriter::BlobWriter(int fd, uint64_t start, Sha256Stream& sha) : fd_(fd), sha_(sha), written_(start) {
  filling_.reserve(kBufferBytes);
  for (size_t i = 1; i < kBuffers; ++i) free_.emplace_back().reserve(kBufferBytes);
  worker_ = std::thread([this] { run(); });
}

BlobWriter::~BlobWriter() { finish(); }

bool BlobWriter::append(const char* data, size_t n) {
  if (error_ != 0) return false;
  while (n > 0) {
    const ssize_t w = ::pwrite(fd_, data, n, static_cast<off_t>(written_));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      error_ = w < 0 ? errno : ENOSPC;
      return false;
    }
    written_ += static_cast<uint64_t>(w);
    // The bytes on disk go to the hash, in 1 MiB buffers (a copy: curl reuses its buffer).
    for (size_t done = 0; done < static_cast<size_t>(w);) {
      const size_t take = std::min(static_cast<size_t>(w) - done, kBufferBytes - filling_.size());
      filling_.insert(filling_.end(), data + done, data + done + take);
      done += take;
      if (filling_.size() == kBufferBytes) hand_over();
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
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
    lock.unlock();
    sha_.update(buf.data(), buf.size());
    lock.lock();
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
  return written_;
}

}  // namespace mx::hub
