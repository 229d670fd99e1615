#include "chat/tool_formats/named_calls.h"

#include <utility>

namespace mx::chat::formats {
namespace {

class NamedCallParser final : public FormatParser {
 public:
  NamedCallParser(std::string_view marker, bool reply_opens_block, const ToolNames& names, HeaderReader header)
      : marker_(marker),
        names_(names),
        header_(std::move(header)),
        state_(reply_opens_block ? State::kStart : State::kText) {}

  void push(std::string_view text, Emitter& out) override {
    buf_ += text;
    drain(false, out);
  }
  void finish(Emitter& out) override { drain(true, out); }

 private:
  // raw_ holds what was consumed of the current block (the marker when the output wrote it, the
  // header), given back as text if the block is not a call.
  enum class State { kStart, kText, kHeader, kArguments };
  enum class Step { kWait, kAgain };

  void take(size_t n) {
    raw_.append(buf_, 0, n);
    buf_.erase(0, n);
  }
  void fail(Emitter& out) {
    out.text(raw_);
    raw_.clear();
    state_ = State::kText;
  }
  void end_block() {
    raw_.clear();
    state_ = State::kText;
  }

  Step header(bool final, Emitter& out) {
    CallHeader h = header_(buf_, final, names_);
    switch (h.kind) {
      case CallHeader::Kind::kWait:
        if (!final) return Step::kWait;
        fail(out);  // a reader that still waits at the end: nothing more can make it a call
        break;
      case CallHeader::Kind::kNotACall:
        take(h.length);
        fail(out);
        break;
      case CallHeader::Kind::kArguments:
        take(h.length);
        name_ = std::move(h.name);
        state_ = State::kArguments;
        break;
      case CallHeader::Kind::kDone:
        take(h.length);
        for (ToolCall& c : h.calls) out.call(std::move(c.name), std::move(c.arguments));
        end_block();
        break;
    }
    return Step::kAgain;
  }

  Step arguments(bool final, Emitter& out) {
    std::string_view buf = buf_;
    const size_t first = skip_space(buf);
    const size_t end = first == kNpos || buf[first] != '{' ? kNpos : json_value_end(buf, first);
    if (end == kNpos) {
      // Only a missing or unfinished object may still arrive; anything else is not a call.
      if (!final && (first == kNpos || buf[first] == '{')) return Step::kWait;
      fail(out);
      return Step::kAgain;
    }
    auto j = parse_json(buf.substr(first, end - first));
    auto text = j ? arguments_text(&*j) : std::nullopt;
    take(end);
    if (!text || !names_.accepts(name_)) {
      fail(out);
      return Step::kAgain;
    }
    out.call(std::move(name_), std::move(*text));
    end_block();
    return Step::kAgain;
  }

  void drain(bool final, Emitter& out) {
    for (;;) {
      std::string_view buf = buf_;
      switch (state_) {
        case State::kStart:  // the prompt's marker is implied; a model may write it again
          if (!final && (buf.empty() || is_marker_prefix(buf, marker_))) return;
          if (buf.starts_with(marker_)) take(marker_.size());
          state_ = State::kHeader;
          continue;
        case State::kText: {
          if (!text_until_marker(buf_, marker_, final, out)) return;
          take(marker_.size());
          state_ = State::kHeader;
          continue;
        }
        case State::kHeader:
          if (header(final, out) == Step::kWait) return;
          continue;
        case State::kArguments:
          if (arguments(final, out) == Step::kWait) return;
          continue;
      }
    }
  }

  const std::string marker_;
  const ToolNames& names_;
  const HeaderReader header_;
  State state_;
  std::string name_;
  std::string raw_;  // invariant: empty in kText
  std::string buf_;
};

}  // namespace

std::unique_ptr<FormatParser> make_named_call_parser(std::string_view marker, bool reply_opens_block,
                                                     const ToolNames& names, HeaderReader header) {
  return std::make_unique<NamedCallParser>(marker, reply_opens_block, names, std::move(header));
}

}  // namespace mx::chat::formats
