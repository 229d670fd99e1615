// Granite 3.x: text, then <|tool_call|> and a JSON list of {"name", "arguments"} calls (all of
// them or, if one is malformed, none). Granite 3.3 with thinking wraps its answer in
// <response>...</response> after the <think> block; a wrapper opening the reply is removed.
#include "chat/tool_formats/call_list.h"

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
          CallList list = scan_call_list(buf, final, names_);
          if (list.kind == CallList::Kind::kWait) return;
          if (list.kind == CallList::Kind::kNone) {
            out.text(kCall);  // not a call list: the marker is text, and the scan goes on after it
          } else {
            for (ToolCall& c : list.calls) out.call(std::move(c.name), std::move(c.arguments));
            buf_.erase(0, list.end);
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
