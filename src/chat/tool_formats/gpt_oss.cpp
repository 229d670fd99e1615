// gpt-oss "harmony": messages <|start|>assistant<|channel|>C [to=R] [<|constrain|>json]<|message|>
// BODY ending in <|end|>, <|call|> or <|return|>. The reply usually begins at <|channel|> (the
// prompt ends in <|start|>assistant). Channel analysis is reasoning, final (and commentary
// addressed to no one) is text, a message to=functions.NAME is a call whose body is the
// arguments. <|call|> and <|return|> end generation, so the end of the reply also closes a body.
#include "chat/tool_formats/format_parser.h"
#include "chat/tool_formats/scan.h"

namespace mx::chat::formats {
namespace {

constexpr std::string_view kStart = "<|start|>";
constexpr std::string_view kChannel = "<|channel|>";
constexpr std::string_view kMessage = "<|message|>";
constexpr std::string_view kEnd = "<|end|>";
constexpr std::string_view kCall = "<|call|>";
constexpr std::string_view kReturn = "<|return|>";
// What ends a body; the last two also open the next message's header.
constexpr std::string_view kBodyEnds[] = {kEnd, kCall, kReturn, kStart, kChannel};

// The word after key in a header ("analysis" after "<|channel|>", "functions.x" after "to=").
std::string_view header_word(std::string_view header, std::string_view key) {
  size_t at = header.find(key);
  if (at == kNpos) return {};
  at += key.size();
  size_t end = at;
  while (end < header.size() && header[end] != ' ' && header[end] != '<' && header[end] != '\n') ++end;
  return header.substr(at, end - at);
}

class GptOssParser final : public FormatParser {
 public:
  explicit GptOssParser(const ToolNames& names) : names_(names) {}

  void push(std::string_view text, Emitter& out) override {
    buf_ += text;
    drain(false, out);
  }
  void finish(Emitter& out) override {
    drain(true, out);
    if (state_ == State::kHeader) {  // a header with no message: give it back
      out.text(raw_);
      out.text(buf_);
      buf_.clear();
    }
    if (state_ == State::kBody && mode_ == Mode::kCall) end_call("", out);
    raw_.clear();
  }

 private:
  enum class State { kBody, kHeader };
  enum class Mode { kText, kReasoning, kCall };

  void start_body() {
    const std::string_view channel = header_word(raw_, kChannel);
    std::string_view recipient = header_word(raw_, "to=");
    if (!recipient.empty()) {
      mode_ = Mode::kCall;
      if (recipient.starts_with("functions.")) recipient.remove_prefix(std::string_view("functions.").size());
      name_.assign(recipient);
      body_.clear();
    } else {
      mode_ = channel == "analysis" ? Mode::kReasoning : Mode::kText;
    }
    state_ = State::kBody;
  }

  // terminator: the closing marker consumed with the body ("" when none was).
  void end_call(std::string_view terminator, Emitter& out) {
    auto j = parse_json(body_);
    auto args = j ? arguments_text(&*j) : std::nullopt;
    if (args && names_.accepts(name_)) {
      out.call(std::move(name_), std::move(*args));
    } else {
      out.text(raw_);
      out.text(body_);
      out.text(terminator);
    }
    name_.clear();
    body_.clear();
    raw_.clear();
    mode_ = Mode::kText;
  }

  void body(std::string_view s, Emitter& out) {
    switch (mode_) {
      case Mode::kText: out.text(s); break;
      case Mode::kReasoning: out.reasoning(s); break;
      case Mode::kCall: body_ += s; break;
    }
  }

  void drain(bool final, Emitter& out) {
    for (;;) {
      std::string_view buf = buf_;
      if (state_ == State::kHeader) {
        const size_t at = buf.find(kMessage);
        if (at == kNpos) return;  // headers are short: keep them whole until <|message|>
        raw_.append(buf.substr(0, at + kMessage.size()));
        buf_.erase(0, at + kMessage.size());
        start_body();
        continue;
      }
      const Found f = find_first(buf, {kBodyEnds[0], kBodyEnds[1], kBodyEnds[2], kBodyEnds[3], kBodyEnds[4]});
      if (f.at == kNpos) {
        const size_t keep =
            final ? buf.size() : partial_marker_start(buf, {kEnd, kCall, kReturn, kStart, kChannel});
        body(buf.substr(0, keep), out);
        buf_.erase(0, keep);
        return;
      }
      body(buf.substr(0, f.at), out);
      const bool opens_header = f.which >= 3;  // <|start|> or <|channel|>
      const std::string_view marker = kBodyEnds[f.which];
      if (mode_ == Mode::kCall) end_call(opens_header ? "" : marker, out);
      raw_.clear();
      mode_ = Mode::kText;
      if (opens_header) {
        raw_.assign(marker);
        state_ = State::kHeader;
      }
      buf_.erase(0, f.at + marker.size());
    }
  }

  const ToolNames& names_;
  State state_ = State::kBody;
  Mode mode_ = Mode::kText;  // text outside any message is plain text
  std::string raw_;          // the current message's header, as generated
  std::string name_;
  std::string body_;
  std::string buf_;
};

}  // namespace

std::unique_ptr<FormatParser> make_gpt_oss_parser(const ToolNames& names) {
  return std::make_unique<GptOssParser>(names);
}

}  // namespace mx::chat::formats
