// The body of an OpenAI Responses API request (POST /v1/responses), checked and mapped onto
// the OpenAI chat request parser (server/openai_request.h), as the Anthropic and Ollama
// adapters do, so every dialect shares one set of ranges and messages:
//  - `input`: a string (one user message) or a list of items: messages {role user | system |
//    developer (-> system) | assistant, content: a string or input_text / output_text parts},
//    `function_call` items {call_id, name, arguments} (consecutive calls join the assistant
//    turn before them) and `function_call_output` items {call_id, output} (tool messages);
//    `reasoning` items are dropped; input_image / input_file parts are refused (no vision
//    encoder); any other item or part type is a 400 naming it;
//  - `instructions`: a system message in front;
//  - `tools`: flat function tools {type: "function", name, description, parameters, strict};
//    built-in tools (web_search, file_search, ...) are refused;
//  - `tool_choice`: auto | none | required | {type: "function", name};
//  - `max_output_tokens` -> max_tokens; `temperature`, `top_p`, `parallel_tool_calls` as is;
//  - `text.format` {type: text | json_object | json_schema (with `schema`)} -> response_format;
//  - `reasoning.effort` -> the template variable reasoning_effort;
//  - `previous_response_id`: the stored conversation of that response (its input and output,
//    not its instructions) comes in front of `input` (the adapter looks it up); `store`
//    (default true) keeps this one for later; `conversation` is a 400 (not supported);
//    `metadata`, `user` and unknown fields are ignored.
#pragma once

#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "engine/generate.h"
#include "server/api_error.h"
#include "server/openai_request.h"

namespace mx::server {

struct ResponsesRequest {
  std::string model;          // as the request names it, "" if none
  bool stream = false;
  bool store = true;
  nlohmann::json history;     // the conversation as chat messages, without the instructions
  nlohmann::json echo;        // the settings the reply repeats: instructions, tools, tool_choice,
                              // parallel_tool_calls, max_output_tokens, text, reasoning
  CompletionRequest completion;  // a chat request
};

// `previous`: the stored conversation of the body's previous_response_id (chat messages),
// null if it names none.
std::variant<ResponsesRequest, ApiError> parse_responses_request(const nlohmann::json& body,
                                                                 const GenerateOptions& defaults,
                                                                 const nlohmann::json& previous = nullptr);

}  // namespace mx::server
