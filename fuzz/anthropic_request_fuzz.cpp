// libFuzzer target: random bytes as the body of POST /v1/messages and
// /v1/messages/count_tokens (input[0] % 2 picks the route, see fuzz/request_fuzz.h), parsed
// as the Anthropic adapter parses them. A request that parses must satisfy what the server
// relies on next and is rendered through a chat template with its tool-call grammar built.
#include <cstdint>
#include <variant>

#include <nlohmann/json.hpp>

#include "request_fuzz.h"
#include "server/anthropic_request.h"
#include "server/model_routes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto in = mx::fuzz::split_input(data, size);
  if (!in) return 0;
  const nlohmann::json body = nlohmann::json::parse(in->body, nullptr, false);
  if (body.is_discarded()) return 0;
  const bool count_only = in->selector % 2 == 1;
  static const mx::GenerateOptions defaults;
  auto parsed = mx::server::parse_anthropic_request(body, count_only, defaults);
  auto* request = mx::fuzz::accepted(parsed, in->body);
  if (!request) return 0;
  auto& r = *request;
  if (count_only && r.stream) mx::fuzz::fail("count_tokens streams", in->body);
  if (r.completion.stop != r.stop_sequences) mx::fuzz::fail("stop_sequences lost on the way", in->body);
  mx::fuzz::check_request(r.completion, false, in->body);
  mx::fuzz::drive_chat(std::move(r.completion), in->selector / 2, in->body);
  return 0;
}
