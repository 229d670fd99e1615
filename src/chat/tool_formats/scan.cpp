#include "chat/tool_formats/scan.h"

#include <algorithm>
#include <cctype>

namespace mx::chat::formats {

using nlohmann::json;

void Emitter::append(OutputEvent::Kind kind, std::string_view s) {
  if (s.empty()) return;
  // Adjacent pieces of one kind become one event: fewer, larger SSE chunks.
  if (!events_.empty() && events_.back().kind == kind) {
    events_.back().text += s;
    return;
  }
  events_.push_back(OutputEvent{kind, std::string(s), 0, {}});
}

void Emitter::call(std::string name, std::string arguments) {
  const int index = next_call_++;
  events_.push_back(OutputEvent{OutputEvent::Kind::kToolCallStart, "", index, std::move(name)});
  events_.push_back(OutputEvent{OutputEvent::Kind::kToolCallArguments, std::move(arguments), index, {}});
}

bool ToolNames::accepts(std::string_view name) const {
  if (name.empty()) return false;
  return names_.empty() || std::find(names_.begin(), names_.end(), name) != names_.end();
}

bool is_marker_prefix(std::string_view s, std::string_view marker) {
  return !s.empty() && s.size() < marker.size() && marker.substr(0, s.size()) == s;
}

size_t partial_marker_start(std::string_view buf, std::string_view marker) {
  const size_t longest = std::min(buf.size(), marker.size() - 1);
  for (size_t k = longest; k > 0; --k) {
    if (buf.substr(buf.size() - k) == marker.substr(0, k)) return buf.size() - k;
  }
  return buf.size();
}

size_t partial_marker_start(std::string_view buf, std::initializer_list<std::string_view> markers) {
  size_t start = buf.size();
  for (std::string_view m : markers) start = std::min(start, partial_marker_start(buf, m));
  return start;
}

Found find_first(std::string_view buf, std::initializer_list<std::string_view> markers, size_t from) {
  Found best;
  size_t i = 0;
  for (std::string_view m : markers) {
    const size_t at = buf.find(m, from);
    if (at < best.at) best = {at, i};
    ++i;
  }
  return best;
}

size_t json_value_end(std::string_view buf, size_t start) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = start; i < buf.size(); ++i) {
    const char c = buf[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') ++depth;
    else if ((c == '}' || c == ']') && --depth == 0) return i + 1;
  }
  return kNpos;
}

size_t skip_space(std::string_view buf, size_t from) {
  for (size_t i = from; i < buf.size(); ++i) {
    const char c = buf[i];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return i;
  }
  return kNpos;
}

std::string_view trim_space(std::string_view s) {
  const size_t first = skip_space(s);
  if (first == kNpos) return {};
  size_t last = s.size();
  while (last > first && (s[last - 1] == ' ' || s[last - 1] == '\n' || s[last - 1] == '\r' || s[last - 1] == '\t')) --last;
  return s.substr(first, last - first);
}

bool is_function_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

std::optional<json> parse_json(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::optional<std::string> arguments_text(const json* value) {
  if (value == nullptr || value->is_null()) return std::string("{}");
  if (value->is_object()) return value->dump(-1, ' ', false, json::error_handler_t::replace);
  if (value->is_string()) {
    // Some models write the arguments as a JSON string holding the object.
    auto inner = parse_json(value->get_ref<const std::string&>());
    if (inner && inner->is_object()) return inner->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return std::nullopt;
}

std::optional<ToolCall> call_from_json(const json& j, const ToolNames& names) {
  if (!j.is_object()) return std::nullopt;
  auto name = j.find("name");
  if (name == j.end() || !name->is_string() || !names.accepts(name->get_ref<const std::string&>())) {
    return std::nullopt;
  }
  const json* args = nullptr;
  if (auto a = j.find("arguments"); a != j.end()) args = &*a;
  else if (auto p = j.find("parameters"); p != j.end()) args = &*p;
  auto text = arguments_text(args);
  if (!text) return std::nullopt;
  return ToolCall{name->get<std::string>(), std::move(*text)};
}

std::optional<std::vector<ToolCall>> all_calls(const json& list, const CallOf& call_of) {
  if (!list.is_array()) return std::nullopt;
  std::vector<ToolCall> calls;
  for (const json& c : list) {
    auto call = call_of(c);
    if (!call) return std::nullopt;
    calls.push_back(std::move(*call));
  }
  return calls;
}

LeadingCalls leading_calls(std::string_view buf, size_t open, const CallOf& call_of) {
  LeadingCalls out;
  for (size_t i = skip_space(buf, open + 1); i != kNpos && buf[i] == '{'; i = skip_space(buf, i + 1)) {
    const size_t end = json_value_end(buf, i);
    if (end == kNpos) break;
    const auto j = parse_json(buf.substr(i, end - i));
    auto call = j ? call_of(*j) : std::nullopt;
    if (!call) break;
    out.calls.push_back(std::move(*call));
    out.end = end;
    i = skip_space(buf, end);
    if (i == kNpos || buf[i] != ',') break;
  }
  return out;
}

bool text_until_marker(std::string& buf, std::string_view marker, bool final, Emitter& out) {
  const std::string_view view = buf;
  const size_t at = view.find(marker);
  const size_t emit = at != kNpos ? at : final ? view.size() : partial_marker_start(view, marker);
  out.text(view.substr(0, emit));
  buf.erase(0, emit);
  return at != kNpos;
}

}  // namespace mx::chat::formats
