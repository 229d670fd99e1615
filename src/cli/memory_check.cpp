#include "cli/memory_check.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/log.h"

namespace mx::cli {
namespace {

std::string gib(int64_t bytes) { return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / (1 << 30)); }

std::optional<int64_t> mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

// This process's cgroup (v2: the "0::PATH" line of /proc/self/cgroup) room under memory.max.
std::optional<int64_t> cgroup_room() {
  std::ifstream in("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  if (path.empty()) return std::nullopt;
  const std::string dir = "/sys/fs/cgroup" + (path == "/" ? std::string() : path);
  std::ifstream max_file(dir + "/memory.max"), current_file(dir + "/memory.current");
  std::string max_text;
  int64_t current = 0;
  if (!(max_file >> max_text) || max_text == "max" || !(current_file >> current)) return std::nullopt;
  int64_t max = 0;
  std::istringstream(max_text) >> max;
  return std::max<int64_t>(0, max - current);
}

}  // namespace

std::optional<int64_t> available_memory() {
  const std::optional<int64_t> mem = mem_available(), cgroup = cgroup_room();
  if (mem && cgroup) return std::min(*mem, *cgroup);
  return mem ? mem : cgroup;
}

Status check_memory(const std::string& model, int64_t file_bytes, int64_t kv_bytes, std::optional<int64_t> available) {
  if (!available) return {};
  if (kv_bytes > *available)
    return make_error("not enough memory for {}: its KV cache needs {} ({} bytes) but {} ({} bytes) is available; "
                      "lower --ctx-size or --parallel", model, gib(kv_bytes), kv_bytes, gib(*available), *available);
  if (file_bytes + kv_bytes > *available)
    MX_LOG_WARN("{}: the file ({}) and KV cache ({}) exceed the {} available: weights will be read from disk as needed",
                model, gib(file_bytes), gib(kv_bytes), gib(*available));
  return {};
}

}  // namespace mx::cli
