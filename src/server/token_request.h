// The bodies of POST /tokenize ({"content": TEXT, "add_special": BOOL}) and POST /detokenize
// ({"tokens": [ids]}), parsed apart from the routes so a fuzzer reaches them without a model.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "tokenizer/tokenizer.h"

namespace mx::server {

inline constexpr const char* kNotIds = "tokens must be ids in the vocabulary";

struct TokenizeRequest {
  std::string content;
  bool add_special = false;  // the vocabulary's BOS (and EOS) around the text
};

std::variant<TokenizeRequest, ApiError> parse_tokenize_request(const nlohmann::json& body);
// The ids (non-negative integers; whether the model's vocabulary has them is the route's check).
std::variant<std::vector<int64_t>, ApiError> parse_detokenize_request(const nlohmann::json& body);

}  // namespace mx::server
