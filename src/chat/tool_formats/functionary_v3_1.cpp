// Functionary v3.1 (Llama 3.1 based): text, then calls written <function=NAME>{args}</function>.
// Its built-in python tool (<|python_tag|>code) is not parsed: it comes back as text.
#include "chat/tool_formats/format_parser.h"
#include "chat/tool_formats/scan.h"

namespace mx::chat::formats {
namespace {

constexpr std::string_view kOpen = "<function=";
constexpr std::string_view kClose = "</function>";

class FunctionaryV31Parser final : public FormatParser {
 public:
  explicit FunctionaryV31Parser(const ToolNames& names) : names_(names) {}

  void push(std::string_view text, Emitter& out) override {
    buf_ += text;
    drain(false, out);
  }
  void finish(Emitter& out) override { drain(true, out); }

 private:
  // After <function=: NAME>, optional whitespace, a JSON object, optional whitespace, </function>.
  // The length of the whole call, 0 when it is not one, kNpos while more input could make it one.
  size_t call_end(std::string_view buf, ToolCall& call) const {
    size_t i = 0;
    while (i < buf.size() && is_function_name_char(buf[i])) ++i;
    if (i == buf.size()) return kNpos;
    if (buf[i] != '>' || i == 0) return 0;
    const std::string_view name = buf.substr(0, i);
    const size_t first = skip_space(buf, i + 1);
    if (first == kNpos) return kNpos;
    if (buf[first] != '{') return 0;
    const size_t json_end = json_value_end(buf, first);
    if (json_end == kNpos) return kNpos;
    const size_t close = skip_space(buf, json_end);
    if (close == kNpos || is_marker_prefix(buf.substr(close), kClose)) return kNpos;
    if (!buf.substr(close).starts_with(kClose)) return 0;
    auto j = parse_json(buf.substr(first, json_end - first));
    auto args = j ? arguments_text(&*j) : std::nullopt;
    if (!args || !names_.accepts(name)) return 0;
    call = {std::string(name), std::move(*args)};
    return close + kClose.size();
  }

  void drain(bool final, Emitter& out) {
    for (;;) {
      std::string_view buf = buf_;
      if (!in_call_) {
        if (!text_until_marker(buf_, kOpen, final, out)) return;
        buf_.erase(0, kOpen.size());
        in_call_ = true;
        continue;
      }
      ToolCall call;
      const size_t end = call_end(buf, call);
      if (end == kNpos && !final) return;
      in_call_ = false;
      if (end == kNpos || end == 0) {
        out.text(kOpen);  // not a call: the marker is text, and the scan goes on after it
        continue;
      }
      out.call(std::move(call.name), std::move(call.arguments));
      buf_.erase(0, end);
    }
  }

  const ToolNames& names_;
  bool in_call_ = false;
  std::string buf_;
};

}  // namespace

std::unique_ptr<FormatParser> make_functionary_v3_1_parser(const ToolNames& names) {
  return std::make_unique<FunctionaryV31Parser>(names);
}

}  // namespace mx::chat::formats
