// libFuzzer target: random bytes as the body of POST /v1/responses, parsed as the Responses
// adapter parses it, alone or (input[0] odd, see fuzz/request_fuzz.h) after a stored
// conversation that ended in a tool call, as previous_response_id brings one in. A request
// that parses must satisfy what the server relies on next and is rendered through a chat
// template with its tool-call grammar built.
#include <cstdint>
#include <variant>

#include <nlohmann/json.hpp>

#include "request_fuzz.h"
#include "server/model_routes.h"
#include "server/responses_request.h"

namespace {

const nlohmann::json& stored_conversation() {
  static const nlohmann::json c = nlohmann::json::parse(R"([
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function",
      "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}
  ])");
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto in = mx::fuzz::split_input(data, size);
  if (!in) return 0;
  const nlohmann::json body = nlohmann::json::parse(in->body, nullptr, false);
  if (body.is_discarded()) return 0;
  static const mx::GenerateOptions defaults;
  const nlohmann::json& previous = in->selector % 2 ? stored_conversation() : nlohmann::json(nullptr);
  auto parsed = mx::server::parse_responses_request(body, defaults, previous);
  auto* request = mx::fuzz::accepted(parsed, in->body);
  if (!request) return 0;
  auto& r = *request;
  if (!r.history.is_array() || r.history.size() < (previous.is_array() ? previous.size() : 0))
    mx::fuzz::fail("the stored conversation is not kept in front", in->body);
  (void)r.echo.dump();  // the reply repeats it
  mx::fuzz::check_request(r.completion, false, in->body);
  mx::fuzz::drive_chat(std::move(r.completion), in->selector / 2, in->body);
  return 0;
}
