// Hermes 2/3, Qwen 2.5/3, Granite 4: text, then any number of <tool_call>{json}</tool_call>.
#include "chat/tool_formats/delimited_calls.h"

namespace mx::chat::formats {

std::unique_ptr<FormatParser> make_hermes_parser(const ToolNames& names) {
  return make_delimited_parser("<tool_call>", "</tool_call>", names,
                               [](std::string_view body, const ToolNames& accepted) -> std::optional<ToolCall> {
                                 auto j = parse_json(body);
                                 return j ? call_from_json(*j, accepted) : std::nullopt;
                               });
}

}  // namespace mx::chat::formats
