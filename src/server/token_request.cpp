#include "server/token_request.h"

namespace mx::server {

using nlohmann::json;

std::variant<TokenizeRequest, ApiError> parse_tokenize_request(const json& body) {
  if (!body.is_object() || !body.contains("content") || !body["content"].is_string())
    return invalid_request("expected {\"content\": TEXT}", "content");
  TokenizeRequest r{.content = body["content"].get<std::string>()};
  if (auto it = body.find("add_special"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return invalid_request("'add_special' must be true or false", "add_special");
    r.add_special = it->get<bool>();
  }
  return r;
}

std::variant<std::vector<int64_t>, ApiError> parse_detokenize_request(const json& body) {
  if (!body.is_object() || !body.contains("tokens") || !body["tokens"].is_array())
    return invalid_request("expected {\"tokens\": [ids]}", "tokens");
  std::vector<int64_t> ids;
  ids.reserve(body["tokens"].size());
  for (const json& t : body["tokens"]) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0) return invalid_request(kNotIds, "tokens");
    ids.push_back(t.get<int64_t>());
  }
  return ids;
}

}  // namespace mx::server
