// Whether a model fits the memory this process may still take, checked before its KV cache is
// allocated: a cache that cannot fit would otherwise end in std::bad_alloc or the OOM killer,
// long after start-up looked fine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/expected.h"

namespace mx::cli {

// The least of MemAvailable (/proc/meminfo) and, under a cgroup v2 memory limit, memory.max -
// memory.current; nullopt if neither can be read.
std::optional<int64_t> available_memory();

// An error naming the numbers if the KV cache (allocated and written at start) does not fit
// `available`; a warning only if the mapped file does not fit beside it (its pages are read
// from disk as needed, slowly, but it runs).
Status check_memory(const std::string& model, int64_t file_bytes, int64_t kv_bytes, std::optional<int64_t> available);

}  // namespace mx::cli
