// Ollama's API (/api/chat, /api/generate, /api/tags, /api/show, /api/ps, /api/version,
// /api/embed, /api/embeddings) on the generation service: requests are mapped by
// server/ollama_request.h; replies are Ollama's objects, streamed as NDJSON (one object a
// line, the last with done: true and the counts and durations in nanoseconds) unless
// `stream` is false. Errors are Ollama's {"error": "message"} with a 4xx/5xx status.
// Stand-ins where a single-model server has no Ollama store: `digest` is the SHA-256 of the
// file's name, size and tensor count (hashing a many-GB file per request would be slow), the
// model never unloads (ps's expires_at is far ahead), `version` is the Ollama API level these
// shapes follow (clients gate features such as tools and think on it).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/output_parser.h"
#include "engine/generate.h"
#include "model/model.h"
#include "server/generation_service.h"
#include "server/tool_calls.h"

namespace httplib {
struct Response;
}

namespace mx::server {

inline constexpr const char* kOllamaApiVersion = "0.9.0";

// What the Ollama routes know of the served model.
struct OllamaModel {
  std::string name;  // the served name ("moxing"); listed as "moxing:latest"
  const Model* model = nullptr;
  int64_t n_ctx = 0;  // per sequence
  const GenerateOptions* defaults = nullptr;
};

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

// RFC 3339 in UTC with nanoseconds, as Ollama writes created_at.
std::string rfc3339(std::chrono::system_clock::time_point t);

// /api/chat (`chat`) or /api/generate.
void ollama_generate(GenerationService& service, const OllamaModel& m, const std::string& body, bool chat, int api_key,
                     httplib::Response& res);
void ollama_tags(const OllamaModel& m, httplib::Response& res);
void ollama_ps(const OllamaModel& m, httplib::Response& res);
void ollama_show(const OllamaModel& m, const std::string& body, httplib::Response& res);
void ollama_version(httplib::Response& res);
// /api/embed, or the older /api/embeddings (`legacy`): the request goes to the server's
// OpenAI /v1/embeddings route (`openai_embeddings`) and its reply comes back in Ollama's shape.
using OpenAiRoute = std::function<void(const std::string& body, httplib::Response& res)>;
void ollama_embed(const OllamaModel& m, const std::string& body, bool legacy, const OpenAiRoute& openai_embeddings,
                  httplib::Response& res);

}  // namespace mx::server
