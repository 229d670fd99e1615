// Ollama's /api/embed and the older /api/embeddings, answered by the server's OpenAI
// /v1/embeddings route: the request is rewritten into OpenAI's shape and the reply back
// into Ollama's.
#pragma once

#include <functional>
#include <string>

#include "server/ollama_shapes.h"

namespace httplib {
struct Response;
}

namespace mx::server {

// /api/embed, or /api/embeddings (`legacy`); `openai_embeddings` runs /v1/embeddings on a body.
using OpenAiRoute = std::function<void(const std::string& body, httplib::Response& res)>;
void ollama_embed(const OllamaModel& m, const std::string& body, bool legacy, const OpenAiRoute& openai_embeddings,
                  httplib::Response& res);

}  // namespace mx::server
