#include "chat/tool_formats/think_tags.h"

#include "chat/tool_formats/scan.h"

namespace mx::chat::formats {
namespace {
constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";
}  // namespace

void ThinkTagSplitter::push(std::string_view text, Emitter& out, FormatParser& content) {
  buf_ += text;
  drain(false, out, content);
}

void ThinkTagSplitter::finish(Emitter& out, FormatParser& content) {
  drain(true, out, content);
}

void ThinkTagSplitter::drain(bool final, Emitter& out, FormatParser& content) {
  for (;;) {
    std::string_view buf = buf_;
    switch (state_) {
      case State::kStart: {
        const size_t first = skip_space(buf);
        if (first == kNpos || is_marker_prefix(buf.substr(first), kOpen)) {
          if (!final) return;  // still undecided
        } else if (buf.substr(first).starts_with(kOpen)) {
          // Whitespace before the opening tag is dropped: it is no part of the answer.
          if (inline_) out.text(buf.substr(0, first + kOpen.size()));
          buf_.erase(0, first + kOpen.size());
          state_ = State::kReasoning;
          continue;
        }
        state_ = open_implied_ ? State::kReasoning : State::kContent;
        continue;
      }
      case State::kReasoning: {
        const size_t close = buf.find(kClose);
        if (close == kNpos) {
          const size_t keep = final ? buf.size() : partial_marker_start(buf, kClose);
          reasoning(buf.substr(0, keep), out);
          buf_.erase(0, keep);
          return;
        }
        reasoning(buf.substr(0, close), out);
        if (inline_) out.text(kClose);
        buf_.erase(0, close + kClose.size());
        state_ = inline_ ? State::kContent : State::kAfterClose;
        continue;
      }
      case State::kAfterClose: {
        const size_t first = skip_space(buf);
        if (first == kNpos) {
          buf_.clear();
          return;
        }
        buf_.erase(0, first);
        state_ = State::kContent;
        continue;
      }
      case State::kContent:
        content.push(buf_, out);
        buf_.clear();
        return;
    }
  }
}

}  // namespace mx::chat::formats
