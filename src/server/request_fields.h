// Reading a request body's JSON fields, shared by the API dialects' request parsers: a field
// that is absent or null reads as missing, and a bad field throws BadField naming it, which
// each parser catches once and turns into its dialect's 400.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace mx::server {

struct BadField {
  std::string param, message;  // param: the field's path ("" when the dialect names none)
};

[[noreturn]] inline void bad(std::string param, std::string message) {
  throw BadField{std::move(param), std::move(message)};
}

// A body nested deeper is refused before any of it is copied or printed: both recurse, and
// a body of nested brackets (the 8 MB limit holds millions) overflows the handler's stack.
constexpr size_t kMaxBodyDepth = 128;

// Whether `v` nests arrays and objects more than `limit` deep (found without recursing).
inline bool nested_deeper_than(const nlohmann::json& v, size_t limit) {
  std::vector<std::pair<const nlohmann::json*, size_t>> stack{{&v, 1}};
  while (!stack.empty()) {
    const auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    if (depth > limit) return true;
    for (const nlohmann::json& child : *node) stack.emplace_back(&child, depth + 1);
  }
  return false;
}

// The field if present and not null, else nullptr.
inline const nlohmann::json* field(const nlohmann::json& body, const char* name) {
  const auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

}  // namespace mx::server
