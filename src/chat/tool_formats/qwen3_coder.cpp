// Qwen3-Coder's XML calls (also Qwen3.5, Nemotron 3 Nano, StepFun 3.5):
//   <tool_call>\n<function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n...</function>\n</tool_call>
// A value is JSON when it parses as JSON, a string otherwise (without a schema, "42" for a string
// parameter becomes the number 42). Calls written without the <tool_call> wrapper are text.
#include <nlohmann/json.hpp>

#include "chat/tool_formats/delimited_calls.h"

namespace mx::chat::formats {
namespace {

constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";
constexpr std::string_view kFunction = "<function=";
constexpr std::string_view kFunctionEnd = "</function>";
constexpr std::string_view kParam = "<parameter=";
constexpr std::string_view kParamEnd = "</parameter>";

// "<tag=NAME>" at the start of s: NAME and the length taken, or nullopt.
std::optional<std::pair<std::string_view, size_t>> tag_name(std::string_view s, std::string_view tag) {
  if (!s.starts_with(tag)) return std::nullopt;
  const size_t close = s.find('>', tag.size());
  if (close == kNpos) return std::nullopt;
  const std::string_view name = trim_space(s.substr(tag.size(), close - tag.size()));
  if (name.empty()) return std::nullopt;
  return std::pair{name, close + 1};
}

std::optional<ToolCall> parse_call(std::string_view body, const ToolNames& names) {
  body = trim_space(body);
  auto fn = tag_name(body, kFunction);
  if (!fn || !names.accepts(fn->first)) return std::nullopt;
  body.remove_prefix(fn->second);
  // Parameters keep the order they were written in.
  nlohmann::ordered_json args = nlohmann::ordered_json::object();
  for (;;) {
    body = trim_space(body);
    if (body.starts_with(kFunctionEnd)) break;
    auto param = tag_name(body, kParam);
    if (!param) return std::nullopt;
    body.remove_prefix(param->second);
    const size_t end = body.find(kParamEnd);
    if (end == kNpos) return std::nullopt;
    std::string_view value = body.substr(0, end);
    // The template puts the value on its own line(s): one newline each side is syntax.
    if (value.starts_with('\n')) value.remove_prefix(1);
    if (value.ends_with('\n')) value.remove_suffix(1);
    const nlohmann::ordered_json parsed =
        nlohmann::ordered_json::parse(value.begin(), value.end(), nullptr, /*allow_exceptions=*/false);
    args[std::string(param->first)] = parsed.is_discarded() ? nlohmann::ordered_json(std::string(value)) : parsed;
    body.remove_prefix(end + kParamEnd.size());
  }
  if (!trim_space(body.substr(kFunctionEnd.size())).empty()) return std::nullopt;  // one function per call
  return ToolCall{std::string(fn->first), args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

}  // namespace

std::unique_ptr<FormatParser> make_qwen3_coder_parser(const ToolNames& names) {
  return make_delimited_parser(kOpen, kClose, names, parse_call);
}

}  // namespace mx::chat::formats
