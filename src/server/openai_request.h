// The body of an OpenAI chat or text completion request, checked field by field: a wrong
// type or value is an ApiError naming the field; unknown fields are ignored. Besides
// OpenAI's fields it takes moxing's sampler fields (top_k, min_p, typical_p,
// repeat_penalty, repeat_last_n, dry_*, loop_guard).
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/generate.h"
#include "server/api_error.h"

namespace mx::server {

struct CompletionRequest {
  bool chat = true;
  std::string model;
  nlohmann::ordered_json messages;   // chat: [{role, content}] with content as text
  std::string prompt_text;           // completions: a prompt string ...
  std::vector<Token> prompt_tokens;  // ... or token ids
  GenerateOptions options;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;        // stream_options.include_usage
  bool echo = false;                 // completions: the prompt in front of the text
  std::string grammar;               // GBNF from response_format (or moxing's "grammar"), "" if none
};

// `chat`: /v1/chat/completions, else /v1/completions. `defaults`: the server's settings.
std::variant<CompletionRequest, ApiError> parse_completion_request(const nlohmann::json& body, bool chat,
                                                                   const GenerateOptions& defaults);

}  // namespace mx::server
