// A JSON list of {"name", "arguments"} calls right after a marker, as Mistral ([TOOL_CALLS][...])
// and Granite (<|tool_call|>[...]) write it: all of its calls or, if one is malformed, none.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "chat/tool_formats/format_parser.h"
#include "chat/tool_formats/scan.h"

namespace mx::chat::formats {

struct CallList {
  enum class Kind {
    kWait,   // more input could still make it a list of calls
    kNone,   // not a list of calls
    kCalls,  // calls, at least one
  };
  Kind kind = Kind::kWait;
  std::vector<ToolCall> calls{};
  // kCalls: just past the last call taken. kNone: just past the JSON value that was no list of
  // calls, 0 when none closed.
  size_t end = 0;
};

// buf starts just after the marker; JSON whitespace may come first. A single call object counts
// as a list of one. final: no more input will come, so a list cut off by the end of the reply
// keeps the calls it finished (leading_calls) and the result is never kWait.
CallList scan_call_list(std::string_view buf, bool final, const ToolNames& names);

}  // namespace mx::chat::formats
