// The requests a server is handling, and the gate a draining server closes: once closed, no
// new request enters, and drain() waits for those inside to leave. A request is counted from
// routing to the end of its handler; what outlives the handler (a streamed reply) is counted
// by whoever holds it (Admission), which wait_idle() is told about.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <unordered_set>

namespace mx::server {

class RequestGate {
 public:
  // Counts `request` (any address unique while it is handled); false, and not counted, once closed.
  bool enter(const void* request) {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    inside_.insert(request);
    return true;
  }
  // Stops counting `request`; nothing if it was not counted (refused, or never entered).
  void leave(const void* request) {
    std::lock_guard lock(mutex_);
    if (inside_.erase(request) > 0) changed_.notify_all();
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  size_t inside() const {
    std::lock_guard lock(mutex_);
    return inside_.size();
  }
  // Wakes wait_idle() at once (a stop that ends a drain).
  void interrupt() {
    std::lock_guard lock(mutex_);
    interrupted_ = true;
    changed_.notify_all();
  }
  // Waits until no request is inside and `others()` (requests counted elsewhere) is 0: true;
  // false at `deadline` or on interrupt(). `others` has no notification, so it is polled.
  bool wait_idle(std::chrono::steady_clock::time_point deadline, const std::function<int()>& others) {
    std::unique_lock lock(mutex_);
    while (!interrupted_) {
      if (inside_.empty() && others() == 0) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      changed_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(10)));
    }
    return false;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::unordered_set<const void*> inside_;
  bool closed_ = false;
  bool interrupted_ = false;
};

}  // namespace mx::server
