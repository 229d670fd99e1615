#include "server/web_files.h"

#include <array>
#include <utility>

namespace mx::server {

const EmbeddedFile* find_web_file(std::string_view path) {
  if (path.empty() || path[0] != '/') return nullptr;
  const std::string_view name = path == "/" ? std::string_view("index.html") : path.substr(1);
  for (const EmbeddedFile& f : embedded_web_files())
    if (f.name == name) return &f;
  return nullptr;
}

std::string_view content_type_of(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
  }};
  for (const auto& [ext, type] : kTypes)
    if (name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext) return type;
  return "application/octet-stream";
}

}  // namespace mx::server
