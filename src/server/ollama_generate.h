// Ollama's /api/chat and /api/generate on the generation service: requests are mapped by
// server/ollama_request.h; replies are Ollama's objects, streamed as NDJSON (one object a
// line, the last with done: true and the counts and durations in nanoseconds) unless
// `stream` is false.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/output_parser.h"
#include "server/generation_service.h"
#include "server/ollama_shapes.h"
#include "server/tool_calls.h"

namespace httplib {
struct Response;
}

namespace mx::server {

// A reply's events as Ollama's message pieces: content, thinking, and the calls they
// complete (Ollama sends a call whole: {"function": {"name", "arguments": {object}}}).
class OllamaMessageBuilder {
 public:
  struct Piece {
    std::string content, thinking;
    nlohmann::json tool_calls = nlohmann::json::array();
  };
  Piece add(const std::vector<chat::OutputEvent>& events);
  // The last call, if one is still open.
  Piece finish();

 private:
  void close_call(Piece& p);
  CallGapText gap_;
  bool called_ = false;
  std::optional<std::pair<std::string, std::string>> open_;  // name, arguments JSON so far
};

// /api/chat (`chat`) or /api/generate.
void ollama_generate(GenerationService& service, const OllamaModel& m, const std::string& body, bool chat, int api_key,
                     httplib::Response& res);

}  // namespace mx::server
