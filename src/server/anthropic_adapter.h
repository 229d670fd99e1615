// Anthropic's Messages API (POST /v1/messages, POST /v1/messages/count_tokens) on the
// generation service: requests are mapped by server/anthropic_request.h; replies are
// Anthropic's message objects ({id: "msg_...", type: "message", role, model, content blocks
// (thinking, text, tool_use), stop_reason, stop_sequence, usage}), or with `stream` its
// server-sent events (message_start, ping, content_block_start / _delta / _stop for each
// block, message_delta, message_stop). A new block starts whenever the kind changes
// (thinking -> text -> tool_use); each tool call is its own tool_use block whose input
// arrives as input_json_delta pieces. Errors are {type: "error", error: {type, message}}.
// Where this server differs:
//  - a thinking block's signature is "" (nothing is signed);
//  - count_tokens renders and tokenizes the prompt by starting a generation of it and
//    cancelling it at once (its input_tokens are exactly those /v1/messages would count);
//  - a tool_use input the model wrote that is not a JSON object comes back as {}.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/output_parser.h"
#include "engine/generate.h"
#include "server/generation_service.h"
#include "server/tool_calls.h"

namespace httplib {
struct Response;
}

namespace mx::server {

struct AnthropicSettings {
  std::string model_name;           // the reply's model when the request names none
  const GenerateOptions* defaults;  // the server's sampling settings
};

// A reply's events as Anthropic's content blocks: the stream events they make
// (content_block_start / content_block_delta / content_block_stop, each {name, data}), and
// the whole blocks so far.
class AnthropicContentBuilder {
 public:
  using Event = std::pair<std::string, nlohmann::json>;
  explicit AnthropicContentBuilder(std::mt19937_64& rng) : rng_(rng) {}
  std::vector<Event> add(const std::vector<chat::OutputEvent>& events);
  // Closes the open block, if any.
  std::vector<Event> finish();
  const nlohmann::json& content() const { return blocks_; }
  bool called() const { return called_; }

 private:
  enum class Kind { kNone, kThinking, kText, kToolUse };
  void open(Kind kind, nlohmann::json block, std::vector<Event>& out);
  void close(std::vector<Event>& out);
  std::mt19937_64& rng_;
  CallGapText gap_;
  Kind open_ = Kind::kNone;
  bool called_ = false;
  std::string arguments_;  // the open tool_use block's input JSON so far
  nlohmann::json blocks_ = nlohmann::json::array();
};

// An error in Anthropic's shape, with its status.
void send_anthropic_error(httplib::Response& res, int status, const std::string& message);

// POST /v1/messages.
void anthropic_messages(GenerationService& service, const AnthropicSettings& settings, const std::string& body,
                        int api_key, httplib::Response& res);
// POST /v1/messages/count_tokens.
void anthropic_count_tokens(GenerationService& service, const AnthropicSettings& settings, const std::string& body,
                            int api_key, httplib::Response& res);

}  // namespace mx::server
