// The chat page (web/ in the source tree), compiled into the binary. Only these names
// are served: a request path is looked up, never joined to a directory, so there is
// no path to traverse.
#pragma once

#include <span>
#include <string_view>

namespace mx::server {

struct EmbeddedFile {
  std::string_view name;  // file name in web/, e.g. "chat.js"
  std::string_view body;
};

// Every file of web/ (generated at build time).
std::span<const EmbeddedFile> embedded_web_files();

// The file a GET of `path` names ("/" is index.html), or nothing.
const EmbeddedFile* find_web_file(std::string_view path);
std::string_view content_type_of(std::string_view name);

}  // namespace mx::server
