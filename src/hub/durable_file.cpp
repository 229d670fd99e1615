#include "hub/durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/log.h"

namespace mx::hub {
namespace {

// fsync; EINVAL means the file system has nothing to flush (it cannot sync), not a failure.
bool sync_fd(int fd) { return ::fsync(fd) == 0 || errno == EINVAL; }

// The new name of a renamed file is an entry of its folder: durable once the folder is flushed.
// A failure here is only logged: the file itself is whole and in place.
void sync_parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || !sync_fd(fd)) MX_LOG_DEBUG("cannot flush the folder {}: {}", dir, std::strerror(errno));
  if (fd >= 0) ::close(fd);
}

}  // namespace

Status durable_rename(const std::string& from, const std::string& to) {
  const int fd = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("cannot open {}: {}", from, std::strerror(errno));
  const bool synced = sync_fd(fd);
  const int sync_errno = errno;
  ::close(fd);
  if (!synced) return make_error("cannot write {} to disk: {}", from, std::strerror(sync_errno));
  if (std::rename(from.c_str(), to.c_str()) != 0)
    return make_error("cannot move {} to {}: {}", from, to, std::strerror(errno));
  sync_parent_dir(to);
  return {};
}

Status write_file_atomically(const std::string& path, std::string_view contents) {
  // Unique per thread: two writers of one path each finish their own file, the last rename wins.
  const std::string tmp = path + ".tmp" + std::to_string(::getpid()) + "_" + std::to_string(::gettid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return make_error("cannot write {}: {}", tmp, std::strerror(errno));
  bool ok = true;
  for (size_t done = 0; ok && done < contents.size();) {
    const ssize_t w = ::write(fd, contents.data() + done, contents.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w == 0) errno = ENOSPC;
    ok = w > 0;
    if (ok) done += static_cast<size_t>(w);
  }
  ok = ok && sync_fd(fd);
  const int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return make_error("cannot write {}: {}", tmp, std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rename_errno = errno;
    ::unlink(tmp.c_str());
    return make_error("cannot write {}: {}", path, std::strerror(rename_errno));
  }
  sync_parent_dir(path);
  return {};
}

}  // namespace mx::hub
