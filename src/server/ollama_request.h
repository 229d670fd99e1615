// The body of an Ollama /api/chat or /api/generate request, checked and mapped onto the
// OpenAI request parser (server/openai_request.h): Ollama's messages, tools, `options`,
// `format` and `think` become the fields that parser already checks, so both dialects
// share one set of ranges and messages. Decisions where Ollama differs from this server:
//  - an absent or empty `prompt` / `messages` is Ollama's "load the model" call: no
//    generation, a done reply with done_reason "load" ("unload" with keep_alive 0);
//  - `model` may name anything (one model is served; the reply repeats the name asked for);
//  - `options.num_ctx` is accepted but the context is always the server's (--ctx-size): a
//    larger value is clamped to it, a smaller one does not shrink it;
//  - `options.num_predict` < 0 generates until the context is full; absent: the server's default;
//  - unknown options, `keep_alive`, `template` and `context` are ignored; `images` and a
//    non-empty `suffix` are refused (no vision encoder, no fill-in-the-middle).
#pragma once

#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "engine/generate.h"
#include "server/api_error.h"
#include "server/openai_request.h"

namespace mx::server {

struct OllamaRequest {
  std::string model;          // as the request names it, "" if none
  bool stream = true;         // Ollama streams unless told not to
  bool load_only = false;     // no prompt: only "load the model"
  bool unload = false;        // keep_alive 0 with no prompt
  CompletionRequest completion;  // chat (messages) or, for raw generate, a prompt text
};

// `chat`: /api/chat, else /api/generate.
std::variant<OllamaRequest, ApiError> parse_ollama_request(const nlohmann::json& body, bool chat,
                                                           const GenerateOptions& defaults);

}  // namespace mx::server
