// llama.cpp's generic shape for templates with no tool syntax of their own: the whole reply is
// {"tool_calls": [{"name": ..., "arguments": {...}}, ...]} (or "tool_call": {...}) or
// {"response": "text"}. A reply that is not such an object is plain text.
#include "chat/tool_formats/format_parser.h"
#include "chat/tool_formats/scan.h"

namespace mx::chat::formats {
namespace {

using nlohmann::json;

class GenericJsonParser final : public FormatParser {
 public:
  explicit GenericJsonParser(const ToolNames& names) : names_(names) {}

  void push(std::string_view text, Emitter& out) override {
    buf_ += text;
    drain(false, out);
  }
  void finish(Emitter& out) override { drain(true, out); }

 private:
  enum class State { kStart, kAfterObject, kText };

  // True when the object was a well-formed reply (and was emitted).
  bool emit_reply(const json& j, Emitter& out) {
    if (!j.is_object()) return false;
    if (auto r = j.find("response"); r != j.end() && j.size() == 1) {
      out.text(r->is_string() ? r->get<std::string>() : r->dump(-1, ' ', false, json::error_handler_t::replace));
      return true;
    }
    json calls;
    if (auto c = j.find("tool_calls"); c != j.end() && c->is_array()) calls = *c;
    else if (auto c1 = j.find("tool_call"); c1 != j.end() && c1->is_object()) calls = json::array({*c1});
    else return false;
    auto parsed = all_calls(calls, [&](const json& c) { return call_from_json(c, names_); });
    if (!parsed) return false;  // one bad call: the whole reply is text
    for (ToolCall& c : *parsed) out.call(std::move(c.name), std::move(c.arguments));
    return true;
  }

  // {"tool_calls": [ cut off at the end of the output: emits the calls it finished and
  // returns the index past the last of them (0 if none).
  size_t emit_finished_calls(std::string_view buf, size_t open_brace, Emitter& out) {
    size_t i = skip_space(buf, open_brace + 1);
    constexpr std::string_view kKey = "\"tool_calls\"";
    if (i == kNpos || !buf.substr(i).starts_with(kKey)) return 0;
    i = skip_space(buf, i + kKey.size());
    if (i == kNpos || buf[i] != ':') return 0;
    i = skip_space(buf, i + 1);
    if (i == kNpos || buf[i] != '[') return 0;
    LeadingCalls done = leading_calls(buf, i, [&](const json& c) { return call_from_json(c, names_); });
    for (ToolCall& c : done.calls) out.call(std::move(c.name), std::move(c.arguments));
    return done.calls.empty() ? 0 : done.end;
  }

  void drain(bool final, Emitter& out) {
    for (;;) {
      std::string_view buf = buf_;
      switch (state_) {
        case State::kStart: {
          const size_t first = skip_space(buf);
          if (first == kNpos) {
            if (!final) return;
            state_ = State::kText;
            continue;
          }
          if (buf[first] != '{') {
            state_ = State::kText;
            continue;
          }
          const size_t end = json_value_end(buf, first);
          if (end == kNpos) {
            if (!final) return;
            if (const size_t kept = emit_finished_calls(buf, first, out)) {
              buf_.erase(0, kept);
              state_ = State::kText;  // the rest after the finished calls
              continue;
            }
            state_ = State::kText;  // cut off: the characters come back as text
            continue;
          }
          auto j = parse_json(buf.substr(first, end - first));
          if (j && emit_reply(*j, out)) {
            buf_.erase(0, end);
            state_ = State::kAfterObject;
          } else {
            state_ = State::kText;
          }
          continue;
        }
        case State::kAfterObject: {
          // Trailing whitespace after the object is dropped; anything else is kept as text.
          const size_t first = skip_space(buf);
          if (first == kNpos) {
            if (final) buf_.clear();
            return;
          }
          state_ = State::kText;
          continue;
        }
        case State::kText:
          out.text(buf);
          buf_.clear();
          return;
      }
    }
  }

  const ToolNames& names_;
  State state_ = State::kStart;
  std::string buf_;
};

}  // namespace

std::unique_ptr<FormatParser> make_generic_json_parser(const ToolNames& names) {
  return std::make_unique<GenericJsonParser>(names);
}

}  // namespace mx::chat::formats
