// libFuzzer target: random bytes as the body of POST /tokenize (input[0] even) or POST
// /detokenize (odd), see fuzz/request_fuzz.h. A body the parser accepts must hold what the
// route uses next: text to encode, or non-negative ids for the vocabulary check.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "request_fuzz.h"
#include "server/token_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto in = mx::fuzz::split_input(data, size);
  if (!in) return 0;
  const nlohmann::json body = nlohmann::json::parse(in->body, nullptr, false);
  if (in->selector % 2 == 0) {
    auto parsed = mx::server::parse_tokenize_request(body);
    const auto* r = mx::fuzz::accepted(parsed, in->body);
    if (r && r->content != body["content"].get<std::string>()) mx::fuzz::fail("content changed", in->body);
    return 0;
  }
  auto parsed = mx::server::parse_detokenize_request(body);
  const auto* ids = mx::fuzz::accepted(parsed, in->body);
  if (!ids) return 0;
  if (ids->size() != body["tokens"].size()) mx::fuzz::fail("not one id per token", in->body);
  for (const int64_t id : *ids)
    if (id < 0) mx::fuzz::fail("a negative id accepted", in->body);
  return 0;
}
