// The body of an Anthropic Messages API request (POST /v1/messages and
// /v1/messages/count_tokens), checked and mapped onto the OpenAI request parser
// (server/openai_request.h), as the Ollama adapter does: `system`, the content blocks of
// `messages`, `tools`, `tool_choice`, `thinking` and `stop_sequences` become the fields that
// parser already checks, so every dialect shares one set of ranges and messages.
//  - `system`: a string or text blocks (joined with "\n");
//  - user content: text blocks (joined), `tool_result` blocks (each becomes a tool message
//    in front of the turn's text; `is_error` puts "Error: " in front of the result);
//  - assistant content: text, `thinking` (the template's reasoning_content), `tool_use`
//    (a call with its input object); `redacted_thinking` is dropped;
//  - `image` / `document` blocks are refused (no vision encoder); any other block type is a
//    400 naming it;
//  - tool_choice: auto, any (-> required), tool (-> that function), none;
//    disable_parallel_tool_use -> one call at most;
//  - thinking {type: enabled|disabled} -> the template variable enable_thinking;
//  - `model` may name anything (one model is served; the reply repeats it); `metadata`,
//    `service_tier` and unknown fields are ignored.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/generate.h"
#include "server/api_error.h"
#include "server/openai_request.h"

namespace mx::server {

struct AnthropicRequest {
  std::string model;                       // as the request names it, "" if none
  bool stream = false;
  std::vector<std::string> stop_sequences;  // as given (also in completion.stop)
  CompletionRequest completion;            // a chat request
};

// `count_only`: /v1/messages/count_tokens (max_tokens not required, nothing generated).
std::variant<AnthropicRequest, ApiError> parse_anthropic_request(const nlohmann::json& body, bool count_only,
                                                                 const GenerateOptions& defaults);

}  // namespace mx::server
