// Calls written MARKER HEADER {arguments} among free text, as Mistral ([TOOL_CALLS]NAME[ARGS]{...})
// and Functionary v3.2 (>>>NAME\n{...}) write them: one parser for the text, the marker and the
// JSON arguments; the family reads the header between marker and arguments, where its names go.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/tool_formats/format_parser.h"
#include "chat/tool_formats/scan.h"

namespace mx::chat::formats {

// What the family made of the text after a marker.
struct CallHeader {
  enum class Kind {
    kWait,       // more input could change the answer
    kNotACall,   // the marker and the first `length` characters are text; the scan goes on after them
    kArguments,  // `length` characters named the function `name`; a JSON object of arguments follows
    kDone,       // the block ends after `length` characters (syntax, dropped) with `calls`, maybe none
  };
  Kind kind = Kind::kWait;
  size_t length = 0;
  std::string name{};
  std::vector<ToolCall> calls{};

  static CallHeader wait() { return {}; }
  static CallHeader not_a_call(size_t length = 0) { return {.kind = Kind::kNotACall, .length = length}; }
  static CallHeader arguments(size_t length, std::string_view name) {
    return {.kind = Kind::kArguments, .length = length, .name = std::string(name)};
  }
  static CallHeader done(size_t length, std::vector<ToolCall> calls = {}) {
    return {.kind = Kind::kDone, .length = length, .calls = std::move(calls)};
  }
};

// buf starts just after a marker. final: no more input will come (then never kWait).
using HeaderReader = std::function<CallHeader(std::string_view buf, bool final, const ToolNames& names)>;

// reply_opens_block: the prompt wrote the first marker, so the reply starts after one (a model
// may still write it again). A block that is not a call, and a call the end of the reply cut
// off, come back as the characters they were.
std::unique_ptr<FormatParser> make_named_call_parser(std::string_view marker, bool reply_opens_block,
                                                     const ToolNames& names, HeaderReader header);

}  // namespace mx::chat::formats
