// JSON in and out of template values. In: the render context (nlohmann::json or, to keep the
// caller's key order as transformers does, nlohmann::ordered_json). Out: the `tojson` filter,
// which the reference implements with Python's json.dumps (ensure_ascii=False).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/value.h"
#include "core/expected.h"

namespace mx::chat {

Expected<Value> from_json(const nlohmann::json& j);
Expected<Value> from_json(const nlohmann::ordered_json& j);

// json.dumps options.
struct JsonDumpOptions {
  std::optional<std::string> indent;  // nullopt: one line
  std::string item_separator = ", ";  // json.dumps uses "," when indent is given
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};

// json.dumps(v, ...). Fails like Python for values JSON cannot hold (Undefined,
// generators, namespaces) and for dict keys that are not str/int/float/bool/None.
Expected<std::string> to_json(const Value& v, const JsonDumpOptions& options);

// Escapes a string as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view s, bool ensure_ascii);

}  // namespace mx::chat
