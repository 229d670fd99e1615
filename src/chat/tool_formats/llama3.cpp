// Llama 3.1-3.3: the reply is a bare {"name": ..., "parameters": {...}} (several separated by
// ';'), or text followed by <|python_tag|> and such calls. Built-in tools written as
// <|python_tag|>tool.call(...) are not parsed: they come back as text.
#include "chat/tool_formats/format_parser.h"
#include "chat/tool_formats/scan.h"

namespace mx::chat::formats {
namespace {

constexpr std::string_view kPythonTag = "<|python_tag|>";

class Llama3Parser final : public FormatParser {
 public:
  explicit Llama3Parser(const ToolNames& names) : names_(names) {}

  void push(std::string_view text, Emitter& out) override {
    buf_ += text;
    drain(false, out);
  }
  void finish(Emitter& out) override { drain(true, out); }

 private:
  // kStart: a bare JSON call may open the reply. kCalls: between calls, where whitespace and
  // ';' are syntax (kept in pending_ in case what follows turns out not to be a call).
  enum class State { kStart, kText, kCalls };

  void drain(bool final, Emitter& out) {
    for (;;) {
      std::string_view buf = buf_;
      if (state_ == State::kStart) {
        const size_t first = skip_space(buf);
        if (first == kNpos || is_marker_prefix(buf.substr(first), kPythonTag)) {
          if (!final) return;
          state_ = State::kText;
          continue;
        }
        if (buf[first] == '{') {
          pending_.assign(buf.substr(0, first));
          buf_.erase(0, first);
          state_ = State::kCalls;
        } else {
          state_ = State::kText;
        }
        continue;
      }
      if (state_ == State::kText) {
        if (!text_until_marker(buf_, kPythonTag, final, out)) return;
        pending_.assign(kPythonTag);
        buf_.erase(0, kPythonTag.size());
        state_ = State::kCalls;
        continue;
      }
      // kCalls
      size_t i = 0;
      while (i < buf.size() && (buf[i] == ';' || skip_space(buf, i) != i)) ++i;
      pending_.append(buf.substr(0, i));
      buf_.erase(0, i);
      buf = buf_;
      if (buf.empty()) {
        if (final) {
          // Separators after the last call are syntax; a marker with nothing after is text.
          if (calls_ == 0 || pending_.find_first_not_of(" \t\r\n;") != std::string::npos) out.text(pending_);
          pending_.clear();
        }
        return;
      }
      if (buf[0] != '{') {
        out.text(pending_);
        pending_.clear();
        state_ = State::kText;
        continue;
      }
      const size_t end = json_value_end(buf, 0);
      if (end == kNpos) {
        if (!final) return;
        out.text(pending_);  // cut off mid-call
        out.text(buf);
        pending_.clear();
        buf_.clear();
        return;
      }
      auto j = parse_json(buf.substr(0, end));
      auto call = j ? call_from_json(*j, names_) : std::nullopt;
      if (call) {
        out.call(std::move(call->name), std::move(call->arguments));
        ++calls_;
        pending_.clear();
        buf_.erase(0, end);
        continue;
      }
      out.text(pending_);
      pending_.clear();
      out.text(buf.substr(0, end));
      buf_.erase(0, end);
      state_ = State::kText;
    }
  }

  const ToolNames& names_;
  State state_ = State::kStart;
  int calls_ = 0;
  std::string pending_;
  std::string buf_;
};

}  // namespace

std::unique_ptr<FormatParser> make_llama3_parser(const ToolNames& names) {
  return std::make_unique<Llama3Parser>(names);
}

}  // namespace mx::chat::formats
