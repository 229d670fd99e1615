// OpenAI's Responses API (POST /v1/responses) on the generation service: requests are mapped
// by server/responses_request.h; replies are response objects ({id: "resp_...", object:
// "response", created_at, status: completed | incomplete, incomplete_details, model, output
// items, usage, and the settings the request gave}), or with `stream` server-sent events with
// `event:` lines and increasing `sequence_number`s: response.created, response.in_progress,
// then for each output item response.output_item.added, its content (a message's
// response.content_part.added, response.output_text.delta ... .done,
// response.content_part.done; a reasoning item's the same with reasoning_text; a function
// call's response.function_call_arguments.delta ... .done), response.output_item.done; last
// response.completed (or response.incomplete when max_output_tokens cut the reply).
// Output items: reasoning {id: "rs_...", summary: [], content: [{type: "reasoning_text", text}]},
// message {id: "msg_...", role: "assistant", content: [{type: "output_text", text, annotations}]},
// function_call {id: "fc_...", call_id: "call_...", name, arguments}. A new item starts
// whenever the kind changes; each call is its own item. Errors are OpenAI's
// {error: {message, type, param, code}}.
// Where this server differs:
//  - stored responses (store, default true) live in memory only, the last kStoredResponses of
//    them, for previous_response_id; they cannot be retrieved or deleted by id;
//  - output_text (a convenience of the SDKs, computed client-side) is sent too;
//  - usage's reasoning_tokens is 0: the service counts reply tokens, not which were reasoning;
//  - a call's arguments are the text the model wrote ("{}" if it wrote none).
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
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

// Conversations of stored responses (chat messages: input and output, not instructions), by
// response id; the oldest goes when there are more than `capacity`. Thread-safe.
class ResponseStore {
 public:
  static constexpr size_t kStoredResponses = 256;
  explicit ResponseStore(size_t capacity = kStoredResponses) : capacity_(capacity) {}
  void put(const std::string& id, nlohmann::json conversation);
  std::optional<nlohmann::json> get(const std::string& id) const;

 private:
  size_t capacity_;
  mutable std::mutex mu_;
  std::map<std::string, nlohmann::json> by_id_;
  std::deque<std::string> order_;
};

struct ResponsesSettings {
  std::string model_name;           // the reply's model when the request names none
  const GenerateOptions* defaults;  // the server's sampling settings
  ResponseStore* store = nullptr;   // null: nothing is stored (previous_response_id is refused)
};

// A reply's events as Responses output items: the stream events they make (each {name,
// data}, data without sequence_number), and the whole items so far.
class ResponsesOutputBuilder {
 public:
  using Event = std::pair<std::string, nlohmann::json>;
  explicit ResponsesOutputBuilder(std::mt19937_64& rng) : rng_(rng) {}
  std::vector<Event> add(const std::vector<chat::OutputEvent>& events);
  // Closes the open item, if any: "completed", or "incomplete" when the reply was cut.
  std::vector<Event> finish(bool incomplete);
  const nlohmann::json& output() const { return items_; }
  // The message items' text, joined.
  std::string output_text() const;
  // The output as one assistant chat message {role, content, reasoning_content?, tool_calls?}.
  nlohmann::json chat_message() const;

 private:
  enum class Kind { kNone, kReasoning, kMessage, kCall };
  void open(Kind kind, nlohmann::json item, std::vector<Event>& out);
  void close(std::vector<Event>& out, const char* status = "completed");
  nlohmann::json at(nlohmann::json data) const;  // with the open item's item_id and output_index
  std::mt19937_64& rng_;
  CallGapText gap_;
  Kind open_ = Kind::kNone;
  bool called_ = false;
  nlohmann::json items_ = nlohmann::json::array();
};

// POST /v1/responses.
void responses_create(GenerationService& service, const ResponsesSettings& settings, const std::string& body,
                      int api_key, httplib::Response& res);

}  // namespace mx::server
