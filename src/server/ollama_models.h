// Ollama's model routes for the one model this server holds: /api/tags, /api/ps, /api/show,
// /api/version. Stand-ins where a single-model server has no Ollama store: `digest` is the
// SHA-256 of the file's name, size and tensor count (hashing a many-GB file per request would
// be slow), the model never unloads (ps's expires_at is far ahead), `version` is
// kOllamaApiVersion, and show's template is the Jinja chat template in use.
#pragma once

#include <string>

#include "server/ollama_shapes.h"

namespace httplib {
struct Response;
}

namespace mx::server {

void ollama_tags(const OllamaModel& m, httplib::Response& res);
void ollama_ps(const OllamaModel& m, httplib::Response& res);
void ollama_show(const OllamaModel& m, const std::string& body, httplib::Response& res);
void ollama_version(httplib::Response& res);

}  // namespace mx::server
