#include "chat/tool_formats/call_list.h"

#include <utility>

namespace mx::chat::formats {

using nlohmann::json;

CallList scan_call_list(std::string_view buf, bool final, const ToolNames& names) {
  using Kind = CallList::Kind;
  const CallOf call_of = [&](const json& c) { return call_from_json(c, names); };
  const size_t first = skip_space(buf);
  if (first == kNpos) return {.kind = final ? Kind::kNone : Kind::kWait};
  if (buf[first] != '[' && buf[first] != '{') return {.kind = Kind::kNone};
  const size_t end = json_value_end(buf, first);
  if (end == kNpos) {
    if (!final) return {.kind = Kind::kWait};
    if (buf[first] != '[') return {.kind = Kind::kNone};
    // Cut off by the end of the reply (the token limit): the calls it finished; the rest is text.
    LeadingCalls done = leading_calls(buf, first, call_of);
    if (done.calls.empty()) return {.kind = Kind::kNone};
    return {.kind = Kind::kCalls, .calls = std::move(done.calls), .end = done.end};
  }
  auto j = parse_json(buf.substr(first, end - first));
  if (j && j->is_object()) *j = json::array({std::move(*j)});
  auto calls = j && !j->empty() ? all_calls(*j, call_of) : std::nullopt;
  if (!calls) return {.kind = Kind::kNone, .end = end};
  return {.kind = Kind::kCalls, .calls = std::move(*calls), .end = end};
}

}  // namespace mx::chat::formats
