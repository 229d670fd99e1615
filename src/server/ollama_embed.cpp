#include "server/ollama_embed.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "server/http_reply.h"
#include "server/request_fields.h"

namespace mx::server {

namespace {
using nlohmann::json;
using Clock = std::chrono::steady_clock;
}  // namespace

void ollama_embed(const OllamaModel& m, const std::string& body_text, bool legacy, const OpenAiRoute& openai_embeddings,
                  httplib::Response& res) {
  const Clock::time_point started = Clock::now();
  const json body = json::parse(body_text, nullptr, false);
  if (body.is_discarded()) return send_ollama_error(res, 400, "the request body is not valid JSON");
  if (!body.is_object()) return send_ollama_error(res, 400, "the request body must be a JSON object");
  // Copying `input` below recurses: a body of 100k nested arrays would overflow the stack.
  if (nested_deeper_than(body, kMaxBodyDepth))
    return send_ollama_error(res, 400, fmt::format("the request body is nested more than {} levels deep", kMaxBodyDepth));
  if (body.contains("model") && !body["model"].is_string()) return send_ollama_error(res, 400, "'model' must be a string");
  const std::string model = body.value("model", listed_name(m));
  const char* input_name = legacy ? "prompt" : "input";
  const json input = body.contains(input_name) ? body[input_name] : json(nullptr);
  if (legacy && !input.is_string()) return send_ollama_error(res, 400, "'prompt' must be a string");
  if (!legacy && !input.is_string() && !(input.is_array() && !input.empty() &&
                                         std::all_of(input.begin(), input.end(), [](const json& x) { return x.is_string(); })))
    return send_ollama_error(res, 400, "'input' must be a string or a non-empty array of strings");
  if (legacy && input.get<std::string>().empty()) return send_json(res, 200, {{"embedding", json::array()}});
  json openai = {{"input", input}};
  if (const auto d = body.find("dimensions"); !legacy && d != body.end() && !d->is_null()) openai["dimensions"] = *d;
  httplib::Response inner;
  openai_embeddings(openai.dump(), inner);
  const json reply = json::parse(inner.body, nullptr, false);
  if (inner.status != 200 || reply.is_discarded()) {
    const std::string message = reply.is_object() && reply.contains("error") && reply["error"].is_object()
                                    ? reply["error"].value("message", "embedding failed")
                                    : "embedding failed";
    return send_ollama_error(res, inner.status >= 400 ? inner.status : 500, message);
  }
  if (legacy) return send_json(res, 200, {{"embedding", reply["data"][0]["embedding"]}});
  json embeddings = json::array();
  for (const json& d : reply["data"]) embeddings.push_back(d["embedding"]);
  send_json(res, 200, {{"model", model},
                       {"embeddings", std::move(embeddings)},
                       {"total_duration", std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started).count()},
                       {"load_duration", 0},
                       {"prompt_eval_count", reply["usage"]["prompt_tokens"]}});
}

}  // namespace mx::server
