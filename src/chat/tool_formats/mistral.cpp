// Mistral: [TOOL_CALLS] then either a JSON array of {"name", "arguments"} (Nemo, v3 tokenizers)
// or name[ARGS]{...} (Small 3.2, Devstral, Ministral; optionally name[CALL_ID]id[ARGS]{...}),
// one marker per call.
#include "chat/tool_formats/call_list.h"
#include "chat/tool_formats/named_calls.h"

namespace mx::chat::formats {
namespace {

constexpr std::string_view kCalls = "[TOOL_CALLS]";
constexpr std::string_view kArgs = "[ARGS]";
constexpr std::string_view kCallId = "[CALL_ID]";

CallHeader after_marker(std::string_view buf, bool final, const ToolNames& names) {
  const size_t first = skip_space(buf);
  if (first == kNpos) return final ? CallHeader::not_a_call() : CallHeader::wait();
  if (buf[first] == '[') {  // a JSON array of calls
    CallList list = scan_call_list(buf, final, names);
    switch (list.kind) {
      case CallList::Kind::kWait: return CallHeader::wait();
      case CallList::Kind::kNone: return CallHeader::not_a_call(list.end);
      case CallList::Kind::kCalls: return CallHeader::done(list.end, std::move(list.calls));
    }
  }
  // name[ARGS] or name[CALL_ID]id[ARGS]
  size_t i = first;
  while (i < buf.size() && is_function_name_char(buf[i])) ++i;
  const std::string_view rest = buf.substr(i);
  size_t args_at = kNpos;
  if (rest.starts_with(kArgs)) {
    args_at = i;
  } else if (rest.starts_with(kCallId)) {
    size_t j = i + kCallId.size();
    while (j < buf.size() && is_function_name_char(buf[j])) ++j;
    if (buf.substr(j).starts_with(kArgs)) args_at = j;
    else if ((j == buf.size() || is_marker_prefix(buf.substr(j), kArgs)) && !final) return CallHeader::wait();
  } else if ((rest.empty() || is_marker_prefix(rest, kArgs) || is_marker_prefix(rest, kCallId)) && !final) {
    return CallHeader::wait();
  }
  if (args_at == kNpos || i == first) return CallHeader::not_a_call();
  return CallHeader::arguments(args_at + kArgs.size(), buf.substr(first, i - first));
}

}  // namespace

std::unique_ptr<FormatParser> make_mistral_parser(const ToolNames& names) {
  return make_named_call_parser(kCalls, /*reply_opens_block=*/false, names, after_marker);
}

}  // namespace mx::chat::formats
