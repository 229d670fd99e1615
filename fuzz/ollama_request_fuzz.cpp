// libFuzzer target: random bytes as the body of Ollama's POST /api/chat, /api/generate,
// /api/embed and /api/embeddings (input[0] % 4 picks the route, see fuzz/request_fuzz.h).
// Chat and generate go through the Ollama request parser; a request that parses must satisfy
// what the server relies on next, and a chat turn is rendered through a chat template with
// its tool-call grammar built. The embedding routes run whole, on a stand-in for the OpenAI
// route they forward to (which parses the rewritten body as /v1/embeddings does).
#include <cstdint>
#include <string>
#include <variant>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "request_fuzz.h"
#include "server/model_routes.h"
#include "server/ollama_embed.h"
#include "server/ollama_request.h"

namespace {

using mx::fuzz::fail;
using nlohmann::json;

// /v1/embeddings without a model: every input's embedding is [0.25, -0.5].
void openai_embeddings(const std::string& text, httplib::Response& res) {
  auto parsed = mx::server::parse_embedding_request(json::parse(text));
  if (auto* e = std::get_if<mx::server::ApiError>(&parsed)) {
    res.status = e->status;
    res.body = e->to_json().dump();
    return;
  }
  const auto& r = std::get<mx::server::EmbeddingRequest>(parsed);
  json data = json::array();
  for (size_t i = 0; i < r.inputs.size(); ++i) data.push_back({{"index", i}, {"embedding", {0.25, -0.5}}});
  res.status = 200;
  res.body = json{{"data", data}, {"usage", {{"prompt_tokens", r.inputs.size()}}}}.dump();
}

void embed(std::string_view text, bool legacy) {
  static const mx::GenerateOptions defaults;
  const mx::server::OllamaModel model{.name = "moxing", .file = nullptr, .n_ctx = 64, .defaults = &defaults,
                                      .chat_template = {}};
  httplib::Response res;
  mx::server::ollama_embed(model, std::string(text), legacy, openai_embeddings, res);
  const json reply = json::parse(res.body, nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) fail("the reply is not a JSON object", text, res.body);
  if (res.status != 200) {
    if (res.status < 400 || res.status > 499 || !reply.contains("error")) fail("a refusal that is not a 4xx error", text, res.body);
    return;
  }
  if (legacy) return;
  const json body = json::parse(text);
  const size_t n = body["input"].is_string() ? 1 : body["input"].size();
  if (!reply["embeddings"].is_array() || reply["embeddings"].size() != n) fail("not one embedding per input", text, res.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto in = mx::fuzz::split_input(data, size);
  if (!in) return 0;
  const int route = in->selector % 4;
  if (route >= 2) {
    embed(in->body, route == 3);
    return 0;
  }
  const json body = json::parse(in->body, nullptr, false);
  if (body.is_discarded()) return 0;
  static const mx::GenerateOptions defaults;
  auto parsed = mx::server::parse_ollama_request(body, route == 0, defaults);
  auto* request = mx::fuzz::accepted(parsed, in->body);
  if (!request) return 0;
  auto& r = *request;
  if (r.load_only) return 0;
  if (r.unload) fail("an unload with a prompt", in->body);
  mx::fuzz::check_request(r.completion, false, in->body);
  if (r.completion.chat) mx::fuzz::drive_chat(std::move(r.completion), in->selector / 4, in->body);
  return 0;
}
