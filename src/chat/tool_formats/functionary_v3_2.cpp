// Functionary v3.2: the generation prompt ends with ">>>", so the reply opens with a recipient
// line. "all\n" starts text; "NAME\n{args}" is a call. Each further block starts with ">>>".
// Calls to the built-in python tool (raw code, not JSON) come back as text.
#include "chat/tool_formats/named_calls.h"

namespace mx::chat::formats {
namespace {

constexpr std::string_view kBlock = ">>>";
constexpr std::string_view kAll = "all";

// The recipient line after ">>>": "all" or a function name, then a newline.
CallHeader recipient(std::string_view buf, bool final, const ToolNames&) {
  size_t i = 0;
  while (i < buf.size() && is_function_name_char(buf[i])) ++i;
  if (i == buf.size() && !final) return CallHeader::wait();
  if (i == buf.size() || i == 0 || buf[i] != '\n') return CallHeader::not_a_call();  // plain text
  const std::string_view name = buf.substr(0, i);
  if (name == kAll) return CallHeader::done(i + 1);
  return CallHeader::arguments(i + 1, name);
}

}  // namespace

std::unique_ptr<FormatParser> make_functionary_v3_2_parser(const ToolNames& names) {
  return make_named_call_parser(kBlock, /*reply_opens_block=*/true, names, recipient);
}

}  // namespace mx::chat::formats
