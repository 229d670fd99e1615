// Levelled logging to stderr. The level is the one piece of process-wide
// configuration (set once by the CLI from --verbose/--quiet).
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace mx {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_write(LogLevel level, std::string_view message);

template <class... Args>
void log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (level < log_level()) return;
  log_write(level, fmt::format(f, std::forward<Args>(args)...));
}

#define MX_LOG_DEBUG(...) ::mx::log(::mx::LogLevel::kDebug, __VA_ARGS__)
#define MX_LOG_INFO(...) ::mx::log(::mx::LogLevel::kInfo, __VA_ARGS__)
#define MX_LOG_WARN(...) ::mx::log(::mx::LogLevel::kWarn, __VA_ARGS__)
#define MX_LOG_ERROR(...) ::mx::log(::mx::LogLevel::kError, __VA_ARGS__)

}  // namespace mx
