// Functionary v3.2: the generation prompt ends with ">>>", so the reply opens with a recipient
// line. "all\n" starts text; "NAME\n{args}" is a call. Each further block starts with ">>>".
// Calls to the built-in python tool (raw code, not JSON) come back as text.
#include "chat/tool_formats/format_parser.h"
#include "chat/tool_formats/scan.h"

namespace mx::chat::formats {
namespace {

constexpr std::string_view kBlock = ">>>";
constexpr std::string_view kAll = "all";

class FunctionaryV32Parser final : public FormatParser {
 public:
  explicit FunctionaryV32Parser(const ToolNames& names) : names_(names) {}

  void push(std::string_view text, Emitter& out) override {
    buf_ += text;
    drain(false, out);
  }
  void finish(Emitter& out) override { drain(true, out); }

 private:
  // raw_ holds what was consumed of the current block's syntax (">>>" when the output wrote it,
  // the recipient line), given back as text if the block is not a call.
  enum class State { kStart, kRecipient, kArgs, kText };
  enum class Step { kWait, kAgain };

  void fail(Emitter& out) {
    out.text(raw_);
    raw_.clear();
    state_ = State::kText;
  }

  Step recipient(bool final, Emitter& out) {
    std::string_view buf = buf_;
    size_t i = 0;
    while (i < buf.size() && is_function_name_char(buf[i])) ++i;
    if (i == buf.size()) {
      if (!final) return Step::kWait;
      fail(out);
      return Step::kAgain;
    }
    if (buf[i] != '\n' || i == 0) {  // not a recipient line: plain text
      fail(out);
      return Step::kAgain;
    }
    const std::string_view name = buf.substr(0, i);
    if (name == kAll) {
      raw_.clear();
      buf_.erase(0, i + 1);
      state_ = State::kText;
      return Step::kAgain;
    }
    name_.assign(name);
    raw_.append(buf.substr(0, i + 1));
    buf_.erase(0, i + 1);
    state_ = State::kArgs;
    return Step::kAgain;
  }

  Step args(bool final, Emitter& out) {
    std::string_view buf = buf_;
    const size_t first = skip_space(buf);
    if (first == kNpos) {
      if (!final) return Step::kWait;
      fail(out);
      return Step::kAgain;
    }
    if (buf[first] != '{') {
      fail(out);
      return Step::kAgain;
    }
    const size_t end = json_value_end(buf, first);
    if (end == kNpos) {
      if (!final) return Step::kWait;
      fail(out);
      return Step::kAgain;
    }
    auto j = parse_json(buf.substr(first, end - first));
    auto text = j ? arguments_text(&*j) : std::nullopt;
    raw_.append(buf.substr(0, end));
    buf_.erase(0, end);
    if (!text || !names_.accepts(name_)) {
      fail(out);
      return Step::kAgain;
    }
    out.call(std::move(name_), std::move(*text));
    raw_.clear();
    state_ = State::kText;
    return Step::kAgain;
  }

  void drain(bool final, Emitter& out) {
    for (;;) {
      std::string_view buf = buf_;
      switch (state_) {
        case State::kStart:  // the prompt's ">>>" is implied; a model may write it again
          if (!final && (buf.empty() || is_marker_prefix(buf, kBlock))) return;
          if (buf.starts_with(kBlock)) {
            raw_.assign(kBlock);
            buf_.erase(0, kBlock.size());
          }
          state_ = State::kRecipient;
          continue;
        case State::kRecipient:
          if (recipient(final, out) == Step::kWait) return;
          continue;
        case State::kArgs:
          if (args(final, out) == Step::kWait) return;
          continue;
        case State::kText: {
          const size_t at = buf.find(kBlock);
          if (at == kNpos) {
            const size_t keep = final ? buf.size() : partial_marker_start(buf, kBlock);
            out.text(buf.substr(0, keep));
            buf_.erase(0, keep);
            return;
          }
          out.text(buf.substr(0, at));
          raw_.assign(kBlock);
          buf_.erase(0, at + kBlock.size());
          state_ = State::kRecipient;
          continue;
        }
      }
    }
  }

  const ToolNames& names_;
  State state_ = State::kStart;
  std::string name_;
  std::string raw_;
  std::string buf_;
};

}  // namespace

std::unique_ptr<FormatParser> make_functionary_v3_2_parser(const ToolNames& names) {
  return std::make_unique<FunctionaryV32Parser>(names);
}

}  // namespace mx::chat::formats
