// Reading a request body's JSON fields, shared by the API dialects' request parsers: a field
// that is absent or null reads as missing, and a bad field throws BadField naming it, which
// each parser catches once and turns into its dialect's 400.
#pragma once

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace mx::server {

struct BadField {
  std::string param, message;  // param: the field's path ("" when the dialect names none)
};

[[noreturn]] inline void bad(std::string param, std::string message) {
  throw BadField{std::move(param), std::move(message)};
}

// The field if present and not null, else nullptr.
inline const nlohmann::json* field(const nlohmann::json& body, const char* name) {
  const auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

}  // namespace mx::server
