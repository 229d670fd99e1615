// Calls written OPEN body CLOSE among free text, as Hermes / Qwen (<tool_call>{json}</tool_call>)
// and Qwen3-Coder (<tool_call><function=...>...</tool_call>) write them: one parser for the
// framing, the family gives what a body means.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "chat/tool_formats/format_parser.h"
#include "chat/tool_formats/scan.h"

namespace mx::chat::formats {

// The call a body holds, or nullopt when it holds none (the body then comes back as text).
using CallBody = std::function<std::optional<ToolCall>(std::string_view body, const ToolNames& names)>;

// Text passes through; each OPEN ... CLOSE goes to `body`. A body that is no call, and a call
// the end of the reply cut off, come back as the characters they were.
std::unique_ptr<FormatParser> make_delimited_parser(std::string_view open, std::string_view close,
                                                    const ToolNames& names, CallBody body);

}  // namespace mx::chat::formats
