// Hermes 2/3, Qwen 2.5/3, Granite 4: text, then any number of <tool_call>{json}</tool_call>.
#include "chat/tool_formats/format_parser.h"
#include "chat/tool_formats/scan.h"

namespace mx::chat::formats {
namespace {

constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";

class HermesParser final : public FormatParser {
 public:
  explicit HermesParser(const ToolNames& names) : names_(names) {}

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
        const size_t open = buf.find(kOpen);
        if (open == kNpos) {
          const size_t keep = final ? buf.size() : partial_marker_start(buf, kOpen);
          out.text(buf.substr(0, keep));
          buf_.erase(0, keep);
          return;
        }
        out.text(buf.substr(0, open));
        buf_.erase(0, open + kOpen.size());
        in_call_ = true;
        continue;
      }
      const size_t close = buf.find(kClose);
      if (close == kNpos) {
        if (final) {  // cut off mid-call: give the characters back
          out.text(kOpen);
          out.text(buf);
          buf_.clear();
        }
        return;
      }
      const std::string_view body = buf.substr(0, close);
      auto j = parse_json(body);
      auto call = j ? call_from_json(*j, names_) : std::nullopt;
      if (call) {
        out.call(std::move(call->name), std::move(call->arguments));
      } else {
        out.text(kOpen);
        out.text(buf.substr(0, close + kClose.size()));
      }
      buf_.erase(0, close + kClose.size());
      in_call_ = false;
    }
  }

  const ToolNames& names_;
  bool in_call_ = false;
  std::string buf_;
};

}  // namespace

std::unique_ptr<FormatParser> make_hermes_parser(const ToolNames& names) {
  return std::make_unique<HermesParser>(names);
}

}  // namespace mx::chat::formats
