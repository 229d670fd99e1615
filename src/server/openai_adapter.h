// OpenAI's /v1/chat/completions and /v1/completions on the generation service: the request
// body becomes a GenerationRequest, each choice's updates become OpenAI's reply (message or
// text, logprobs, finish_reason, usage) or its chunks of server-sent events.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "engine/generate.h"
#include "server/api_error.h"
#include "server/generation_service.h"
#include "server/openai_request.h"

namespace httplib {
struct Response;
}

namespace mx::server {

struct OpenAiSettings {
  std::string model_name;          // the reply's model when the request names none
  const GenerateOptions* defaults;  // the server's sampling settings
  int ping_seconds = 15;           // SSE comment lines keep idle streams open through proxies
  std::atomic<uint64_t>* next_id;  // reply ids: "chatcmpl-N", "cmpl-N"
};

// The neutral request of a parsed OpenAI request.
GenerationRequest to_generation_request(CompletionRequest r, int api_key);

// The service's error as OpenAI reports it.
ApiError to_api_error(const GenerationError& e);
// Sends it (with Retry-After when it says to try again later).
void send_generation_error(httplib::Response& res, const GenerationError& e);

// Serves one request: `chat` for /v1/chat/completions, else /v1/completions; `api_key`: the
// index of the request's key, -1 if none.
void openai_completion(GenerationService& service, const OpenAiSettings& settings, const std::string& body, bool chat,
                       int api_key, httplib::Response& res);

}  // namespace mx::server
