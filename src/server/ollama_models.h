// Ollama's model routes: /api/tags (every model the server offers), /api/ps (the loaded ones),
// /api/show (one), /api/version. Stand-ins where this server has no Ollama store: `digest` is the
// SHA-256 of the file's name, size and tensor count (hashing a many-GB file per request would
// be slow), no model unloads on a timer (ps's expires_at is far ahead; the registry unloads
// the least recently used only when room is needed), `version` is kOllamaApiVersion, and
// show's template is the Jinja chat template in use.
#pragma once

#include <string>
#include <vector>

#include "server/ollama_shapes.h"

namespace httplib {
struct Response;
}

namespace mx::server {

void ollama_tags(const std::vector<OllamaModel>& models, httplib::Response& res);
void ollama_ps(const std::vector<OllamaModel>& models, httplib::Response& res);
void ollama_show(const OllamaModel& m, const std::string& body, httplib::Response& res);
void ollama_version(httplib::Response& res);

}  // namespace mx::server
