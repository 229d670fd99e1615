#include "server/ollama_shapes.h"

#include <fmt/format.h>
#include <httplib.h>

#include <ctime>

#include "server/http_reply.h"

namespace mx::server {

std::string listed_name(const OllamaModel& m) {
  return m.name.find(':') == std::string::npos ? m.name + ":latest" : m.name;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - secs).count();
  const std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm g{};
  gmtime_r(&tt, &g);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", g.tm_year + 1900, g.tm_mon + 1, g.tm_mday, g.tm_hour,
                     g.tm_min, g.tm_sec, ns);
}

void send_ollama_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

}  // namespace mx::server
