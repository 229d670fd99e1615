#include "chat/tool_formats/delimited_calls.h"

#include <string>
#include <utility>

namespace mx::chat::formats {
namespace {

class DelimitedParser final : public FormatParser {
 public:
  DelimitedParser(std::string_view open, std::string_view close, const ToolNames& names, CallBody body)
      : open_(open), close_(close), names_(names), body_(std::move(body)) {}

  void push(std::string_view text, Emitter& out) override {
    buf_ += text;
    drain(false, out);
  }
  void finish(Emitter& out) override { drain(true, out); }

 private:
  void drain(bool final, Emitter& out) {
    for (;;) {
      std::string_view buf = buf_;
      if (!in_call_) {
        if (!text_until_marker(buf_, open_, final, out)) return;
        buf_.erase(0, open_.size());
        in_call_ = true;
        continue;
      }
      const size_t close = buf.find(close_);
      if (close == kNpos) {
        if (final) {  // cut off mid-call: give the characters back
          out.text(open_);
          out.text(buf);
          buf_.clear();
        }
        return;
      }
      if (auto call = body_(buf.substr(0, close), names_)) {
        out.call(std::move(call->name), std::move(call->arguments));
      } else {
        out.text(open_);
        out.text(buf.substr(0, close + close_.size()));
      }
      buf_.erase(0, close + close_.size());
      in_call_ = false;
    }
  }

  const std::string open_, close_;
  const ToolNames& names_;
  const CallBody body_;
  bool in_call_ = false;
  std::string buf_;
};

}  // namespace

std::unique_ptr<FormatParser> make_delimited_parser(std::string_view open, std::string_view close,
                                                    const ToolNames& names, CallBody body) {
  return std::make_unique<DelimitedParser>(open, close, names, std::move(body));
}

}  // namespace mx::chat::formats
