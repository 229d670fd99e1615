#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "core/expected.h"

namespace mx {
namespace {
// Logging config is the one sanctioned global: it is set once by the CLI.
std::atomic<LogLevel> g_level{LogLevel::kInfo};

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: break;
  }
  return "";
}
}  // namespace

void set_log_level(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }
LogLevel log_level() { return g_level.load(std::memory_order_relaxed); }

void log_write(LogLevel level, std::string_view message) {
  std::fprintf(stderr, "[%s] %.*s\n", level_name(level), static_cast<int>(message.size()),
               message.data());
}

namespace detail {
void check_failed(const char* cond, const char* file, int line) {
  std::fprintf(stderr, "moxing: internal check failed: %s at %s:%d\n", cond, file, line);
  std::abort();
}
}  // namespace detail

}  // namespace mx
