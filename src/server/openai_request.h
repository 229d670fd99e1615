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
#include "server/tool_call_grammar.h"

namespace mx::server {

constexpr int kMaxChoices = 16;            // n
constexpr size_t kMaxEmbeddingInputs = 256;

enum class ToolChoice { kAuto, kNone, kRequired, kFunction };


struct CompletionRequest {
  bool chat = true;
  std::string model;
  nlohmann::ordered_json messages;   // chat: [{role, content}] with content as text
  std::string prompt_text;           // completions: a prompt string ...
  std::vector<Token> prompt_tokens;  // ... or token ids
  GenerateOptions options;
  std::vector<std::string> stop;
  bool ignore_eos = false;           // generate to max_tokens (benchmarks), as llama-server's field
  int n = 1;                         // choices, each its own sequence (seeds seed, seed+1, ...)
  bool stream = false;
  bool include_usage = false;        // stream_options.include_usage
  bool echo = false;                 // completions: the prompt in front of the text
  std::string grammar;               // GBNF from response_format (or moxing's "grammar"), "" if none
  // Chat tool calling: `tools` as the template sees them ([{type, function}], null if none).
  nlohmann::ordered_json tools;
  std::vector<ToolDefinition> tool_definitions;  // one per tool, same order
  ToolChoice tool_choice = ToolChoice::kAuto;
  std::string tool_choice_name;      // kFunction: the function the reply must call
  bool parallel_tool_calls = true;
  nlohmann::ordered_json template_kwargs;  // chat_template_kwargs: more template variables (object or null)
  bool reasoning_inline = false;     // reasoning_format "none": reasoning stays in content, tags included
};

// `chat`: /v1/chat/completions, else /v1/completions. `defaults`: the server's settings.
std::variant<CompletionRequest, ApiError> parse_completion_request(const nlohmann::json& body, bool chat,
                                                                   const GenerateOptions& defaults);

// POST /v1/embeddings: inputs as strings or token ids.
struct EmbeddingRequest {
  struct Input {
    std::string text;           // a string input ...
    std::vector<Token> tokens;  // ... or token ids (an id out of range is -1)
  };
  std::string model;
  std::vector<Input> inputs;
  bool base64 = false;          // encoding_format: little-endian float32, base64
  int64_t dimensions = 0;       // 0: the model's width (any other value is refused later)
};

std::variant<EmbeddingRequest, ApiError> parse_embedding_request(const nlohmann::json& body);

}  // namespace mx::server
