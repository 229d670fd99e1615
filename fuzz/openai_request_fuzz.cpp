// libFuzzer target: random bytes as the body of POST /v1/chat/completions, /v1/completions
// and /v1/embeddings (input[0] % 3 picks the route, see fuzz/request_fuzz.h), parsed as the
// OpenAI adapter parses them; every route also reads the body's model name. A request that
// parses must satisfy what the server relies on next, and a chat one is rendered through a
// chat template and gets its tool-call grammar, as generation would.
#include <cstdint>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "request_fuzz.h"
#include "server/model_routes.h"
#include "server/openai_request.h"

namespace {

using mx::fuzz::fail;

void embeddings(const nlohmann::json& body, std::string_view text) {
  auto parsed = mx::server::parse_embedding_request(body);
  const auto* request = mx::fuzz::accepted(parsed, text);
  if (!request) return;
  const auto& r = *request;
  if (r.inputs.empty() || r.inputs.size() > mx::server::kMaxEmbeddingInputs) fail("embedding inputs out of range", text);
  if (r.dimensions < 0) fail("negative dimensions", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto in = mx::fuzz::split_input(data, size);
  if (!in) return 0;
  const nlohmann::json body = nlohmann::json::parse(in->body, nullptr, false);
  if (body.is_discarded()) return 0;
  const int route = in->selector % 3;
  if (route == 2) {
    embeddings(body, in->body);
    return 0;
  }
  const bool chat = route == 0;
  static const mx::GenerateOptions defaults;
  auto parsed = mx::server::parse_completion_request(body, chat, defaults);
  auto* request = mx::fuzz::accepted(parsed, in->body);
  if (!request) return 0;
  auto& r = *request;
  mx::fuzz::check_request(r, body.contains("grammar") && !body["grammar"].is_null(), in->body);
  if (chat) mx::fuzz::drive_chat(std::move(r), in->selector / 3, in->body);
  return 0;
}
