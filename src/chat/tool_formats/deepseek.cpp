// DeepSeek R1 (and its distills) and V3 / V3.1: text, then a section of calls
//   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{args}\n```<｜tool▁call▁end｜>
//   ...<｜tool▁calls▁end｜>
// V3.1 drops the type and the fence: <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{args}<｜tool▁call▁end｜>.
// Both shapes are accepted in one reply. R1's reasoning is <think> tags, split off before this.
#include "chat/tool_formats/format_parser.h"
#include "chat/tool_formats/scan.h"

namespace mx::chat::formats {
namespace {

constexpr std::string_view kCallsBegin = "<｜tool▁calls▁begin｜>";
constexpr std::string_view kCallsEnd = "<｜tool▁calls▁end｜>";
constexpr std::string_view kCallBegin = "<｜tool▁call▁begin｜>";
constexpr std::string_view kCallEnd = "<｜tool▁call▁end｜>";
constexpr std::string_view kSep = "<｜tool▁sep｜>";

// The text between <｜tool▁call▁begin｜> and <｜tool▁call▁end｜>.
std::optional<ToolCall> parse_call(std::string_view body, const ToolNames& names) {
  const size_t sep = body.find(kSep);
  if (sep == kNpos) return std::nullopt;
  const std::string_view head = trim_space(body.substr(0, sep));
  std::string_view rest = trim_space(body.substr(sep + kSep.size()));
  std::string_view name = head;
  if (head == "function" && !rest.starts_with('{')) {  // R1: type, then NAME on its own line
    const size_t nl = rest.find('\n');
    name = trim_space(rest.substr(0, nl));
    rest = nl == kNpos ? std::string_view{} : trim_space(rest.substr(nl + 1));
    if (rest.starts_with("```json")) rest.remove_prefix(7);
    else if (rest.starts_with("```")) rest.remove_prefix(3);
    if (rest.ends_with("```")) rest.remove_suffix(3);
    rest = trim_space(rest);
  }
  if (!names.accepts(name)) return std::nullopt;
  auto j = parse_json(rest);
  auto args = j && (j->is_object() || j->is_string()) ? arguments_text(&*j) : std::nullopt;
  if (!args) return std::nullopt;
  return ToolCall{std::string(name), std::move(*args)};
}

class DeepSeekParser final : public FormatParser {
 public:
  explicit DeepSeekParser(const ToolNames& names) : names_(names) {}

  void push(std::string_view text, Emitter& out) override {
    buf_ += text;
    drain(false, out);
  }
  void finish(Emitter& out) override { drain(true, out); }

 private:
  // raw_ holds the syntax consumed in the section since its start or the last call: text again
  // if no call follows. Whitespace between calls stays in buf_ until a call takes it.
  void fail(Emitter& out, size_t consumed) {
    out.text(raw_);
    out.text(std::string_view(buf_).substr(0, consumed));
    raw_.clear();
    buf_.erase(0, consumed);
    in_section_ = false;
  }

  void drain(bool final, Emitter& out) {
    for (;;) {
      std::string_view buf = buf_;
      if (!in_section_) {
        // Some R1 distills skip the section marker and open a call directly.
        const Found f = find_first(buf, {kCallsBegin, kCallBegin});
        if (f.at == kNpos) {
          const size_t keep = final ? buf.size() : partial_marker_start(buf, {kCallsBegin, kCallBegin});
          out.text(buf.substr(0, keep));
          buf_.erase(0, keep);
          return;
        }
        out.text(buf.substr(0, f.at));
        const size_t skip = f.which == 0 ? kCallsBegin.size() : 0;
        raw_.assign(buf.substr(f.at, skip));
        buf_.erase(0, f.at + skip);
        in_section_ = true;
        section_calls_ = 0;
        continue;
      }
      const size_t first = skip_space(buf);
      const std::string_view rest = first == kNpos ? std::string_view{} : buf.substr(first);
      if (rest.starts_with(kCallsEnd)) {
        const size_t end = first + kCallsEnd.size();
        if (section_calls_ == 0) {
          fail(out, end);  // an empty section is text
        } else {
          raw_.clear();
          buf_.erase(0, end);
          in_section_ = false;
        }
        continue;
      }
      if (rest.starts_with(kCallBegin)) {
        const size_t body = first + kCallBegin.size();
        const size_t close = buf.find(kCallEnd, body);
        if (close == kNpos) {
          if (final) fail(out, buf.size());  // cut off mid-call
          return;
        }
        const size_t end = close + kCallEnd.size();
        auto call = parse_call(buf.substr(body, close - body), names_);
        if (!call) {
          fail(out, end);
          continue;
        }
        out.call(std::move(call->name), std::move(call->arguments));
        ++section_calls_;
        raw_.clear();
        buf_.erase(0, end);
        continue;
      }
      if (!final && (rest.empty() || is_marker_prefix(rest, kCallsEnd) || is_marker_prefix(rest, kCallBegin))) return;
      // Anything else ends the section. Whitespace after the last call (the end marker cut
      // off by the engine) is syntax; otherwise what is left is text.
      if (section_calls_ > 0 && rest.empty()) {
        raw_.clear();
        buf_.clear();
        in_section_ = false;
        return;
      }
      out.text(raw_);
      raw_.clear();
      in_section_ = false;
    }
  }

  const ToolNames& names_;
  bool in_section_ = false;
  int section_calls_ = 0;
  std::string raw_;
  std::string buf_;
};

}  // namespace

std::unique_ptr<FormatParser> make_deepseek_parser(const ToolNames& names) {
  return std::make_unique<DeepSeekParser>(names);
}

}  // namespace mx::chat::formats
