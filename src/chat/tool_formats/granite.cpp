// Granite 3.x: text, then <|tool_call|> and a JSON list of {"name", "arguments"} calls (all of
// them or, if one is malformed, none). Granite 3.3 with thinking wraps its answer in
// <response>...</response> after the <think> block; a wrapper opening the reply is removed.
#include <vector>

#include "chat/tool_formats/format_parser.h"
#include "chat/tool_formats/scan.h"

namespace mx::chat::formats {
namespace {

constexpr std::string_view kCall = "<|tool_call|>";
constexpr std::string_view kResponseOpen = "<response>";
constexpr std::string_view kResponseClose = "</response>";

class GraniteParser final : public FormatParser {
 public:
  explicit GraniteParser(const ToolNames& names) : names_(names) {}

  void push(std::string_view text, Emitter& out) override {
    buf_ += text;
    drain(false, out);
  }
  void finish(Emitter& out) override { drain(true, out); }

 private:
  enum class State { kStart, kText, kCalls };

  // After <|tool_call|>: the length of the call list, 0 when it is not one, kNpos while unsure.
  size_t calls_end(std::string_view buf, bool final, std::vector<ToolCall>& calls) const {
    const size_t first = skip_space(buf);
    if (first == kNpos) return final ? 0 : kNpos;
    if (buf[first] != '[' && buf[first] != '{') return 0;
    const size_t end = json_value_end(buf, first);
    if (end == kNpos && final && buf[first] == '[') {  // cut off: the calls it finished
      LeadingCalls done = leading_calls(buf, first, [&](const nlohmann::json& c) { return call_from_json(c, names_); });
      calls = std::move(done.calls);
      return done.end;
    }
    if (end == kNpos) return final ? 0 : kNpos;
    auto j = parse_json(buf.substr(first, end - first));
    if (!j) return 0;
    if (j->is_object()) *j = nlohmann::json::array({std::move(*j)});
    if (!j->is_array() || j->empty()) return 0;
    for (const nlohmann::json& c : *j) {
      auto call = call_from_json(c, names_);
      if (!call) return 0;
      calls.push_back(std::move(*call));
    }
    return end;
  }

  void drain(bool final, Emitter& out) {
    for (;;) {
      std::string_view buf = buf_;
      switch (state_) {
        case State::kStart: {
          const size_t first = skip_space(buf);
          if (!final && (first == kNpos || is_marker_prefix(buf.substr(first), kResponseOpen))) return;
          if (first != kNpos && buf.substr(first).starts_with(kResponseOpen)) {
            buf_.erase(0, first + kResponseOpen.size());
            in_response_ = true;
          }
          state_ = State::kText;
          continue;
        }
        case State::kText: {
          const Found f = in_response_ ? find_first(buf, {kCall, kResponseClose}) : find_first(buf, {kCall});
          if (f.at == kNpos) {
            const size_t keep = final         ? buf.size()
                                : in_response_ ? partial_marker_start(buf, {kCall, kResponseClose})
                                               : partial_marker_start(buf, kCall);
            out.text(buf.substr(0, keep));
            buf_.erase(0, keep);
            return;
          }
          out.text(buf.substr(0, f.at));
          if (f.which == 1) {
            buf_.erase(0, f.at + kResponseClose.size());
            in_response_ = false;
          } else {
            buf_.erase(0, f.at + kCall.size());
            state_ = State::kCalls;
          }
          continue;
        }
        case State::kCalls: {
          std::vector<ToolCall> calls;
          const size_t end = calls_end(buf, final, calls);
          if (end == kNpos) return;
          if (end == 0) {
            out.text(kCall);  // not a call list: the marker is text, and the scan goes on after it
          } else {
            for (ToolCall& c : calls) out.call(std::move(c.name), std::move(c.arguments));
            buf_.erase(0, end);
          }
          state_ = State::kText;
          continue;
        }
      }
    }
  }

  const ToolNames& names_;
  State state_ = State::kStart;
  bool in_response_ = false;
  std::string buf_;
};

}  // namespace

std::unique_ptr<FormatParser> make_granite_parser(const ToolNames& names) {
  return std::make_unique<GraniteParser>(names);
}

}  // namespace mx::chat::formats
