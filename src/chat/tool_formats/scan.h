// Scanning helpers for incremental parsing: partial markers, JSON extents, call objects.
#pragma once

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/tool_formats/format_parser.h"

namespace mx::chat::formats {

inline constexpr size_t kNpos = std::string_view::npos;

// Where a marker that may be cut off at the end of buf starts (buf.size() if nowhere): the text
// from there on must be held back until more arrives.
size_t partial_marker_start(std::string_view buf, std::string_view marker);
size_t partial_marker_start(std::string_view buf, std::initializer_list<std::string_view> markers);

// Free text up to a marker: emits buf's text before the first `marker` and erases it from
// buf, true then (buf now starts with the marker). Without one, emits and erases all but
// a marker that may be cut off at the end (everything when `final`), and returns false.
bool text_until_marker(std::string& buf, std::string_view marker, bool final, Emitter& out);

// True when s is a proper, non-empty prefix of marker (more input could complete it).
bool is_marker_prefix(std::string_view s, std::string_view marker);

// The earliest occurrence of any of the markers at or after from: {position, marker index}.
struct Found {
  size_t at = kNpos;
  size_t which = 0;
};
Found find_first(std::string_view buf, std::initializer_list<std::string_view> markers, size_t from = 0);

// buf[start] must be '{' or '['. The index just past the matching close bracket, or kNpos while
// the value is not complete yet. Brackets inside strings (escapes included) are skipped.
size_t json_value_end(std::string_view buf, size_t start);

// Index of the first character at or after from that is not JSON whitespace (kNpos if none).
size_t skip_space(std::string_view buf, size_t from = 0);

// s without leading and trailing JSON whitespace.
std::string_view trim_space(std::string_view s);

// Letters, digits, '_', '-' and '.': what a function name written bare in the output may hold.
bool is_function_name_char(char c);

// Never throws: nullopt for text that is not exactly one JSON value.
std::optional<nlohmann::json> parse_json(std::string_view text);

struct ToolCall {
  std::string name;
  std::string arguments;  // compact JSON object text
};

// Arguments given as an object, or as a string holding an object's JSON; a missing value means {}.
std::optional<std::string> arguments_text(const nlohmann::json* value);

// {"name": ..., "arguments" | "parameters": {...}} for an accepted name; nullopt otherwise.
std::optional<ToolCall> call_from_json(const nlohmann::json& j, const ToolNames& names);

// How a family reads one element of a call list (call_from_json, or its own key names).
using CallOf = std::function<std::optional<ToolCall>(const nlohmann::json&)>;

// Every element of a JSON array read by call_of: all of them, or nullopt if one is not a call
// (or list is no array). A list with a malformed call is text, not the calls around it.
std::optional<std::vector<ToolCall>> all_calls(const nlohmann::json& list, const CallOf& call_of);

// A JSON array of calls cut off at the end of the output (buf[open] == '['): the calls of its
// complete leading elements (each read by call_of, up to the first that is not a call) and the
// index just past the last of them (0 if none). A reply that ran out of tokens in the middle
// of a list keeps the calls it finished; the rest is text.
struct LeadingCalls {
  std::vector<ToolCall> calls;
  size_t end = 0;
};
LeadingCalls leading_calls(std::string_view buf, size_t open, const CallOf& call_of);

}  // namespace mx::chat::formats
