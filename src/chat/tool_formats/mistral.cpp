// Mistral: [TOOL_CALLS] then either a JSON array of {"name", "arguments"} (Nemo, v3 tokenizers)
// or name[ARGS]{...} (Small 3.2, Devstral, Ministral; optionally name[CALL_ID]id[ARGS]{...}),
// one marker per call.
#include <cctype>

#include "chat/tool_formats/format_parser.h"
#include "chat/tool_formats/scan.h"

namespace mx::chat::formats {
namespace {

constexpr std::string_view kCalls = "[TOOL_CALLS]";
constexpr std::string_view kArgs = "[ARGS]";
constexpr std::string_view kCallId = "[CALL_ID]";

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

class MistralParser final : public FormatParser {
 public:
  explicit MistralParser(const ToolNames& names) : names_(names) {}

  void push(std::string_view text, Emitter& out) override {
    buf_ += text;
    drain(false, out);
  }
  void finish(Emitter& out) override { drain(true, out); }

 private:
  // raw_ holds the characters consumed since [TOOL_CALLS], given back as text if no call results.
  enum class State { kText, kAfterMarker, kArgs };
  enum class Step { kWait, kAgain };

  void fail(Emitter& out) {
    out.text(raw_);
    raw_.clear();
    state_ = State::kText;
  }

  Step after_marker(bool final, Emitter& out) {
    std::string_view buf = buf_;
    const size_t first = skip_space(buf);
    if (first == kNpos) {
      if (!final) return Step::kWait;
      fail(out);  // what is left goes out as text
      return Step::kAgain;
    }
    if (buf[first] == '[') {  // a JSON array of calls: all of them or none
      const size_t end = json_value_end(buf, first);
      if (end == kNpos) {
        if (!final) return Step::kWait;
        // Cut off: the calls it finished; the rest is text.
        LeadingCalls done = leading_calls(buf, first, [&](const nlohmann::json& c) { return call_from_json(c, names_); });
        if (!done.calls.empty()) {
          for (ToolCall& c : done.calls) out.call(std::move(c.name), std::move(c.arguments));
          raw_.clear();
          buf_.erase(0, done.end);
          state_ = State::kText;
          return Step::kAgain;
        }
        fail(out);
        return Step::kAgain;
      }
      auto j = parse_json(buf.substr(first, end - first));
      std::vector<ToolCall> calls;
      bool ok = j && j->is_array() && !j->empty();
      for (size_t i = 0; ok && i < j->size(); ++i) {
        auto call = call_from_json((*j)[i], names_);
        if (call) calls.push_back(std::move(*call));
        else ok = false;
      }
      raw_.append(buf.substr(0, end));
      buf_.erase(0, end);
      if (!ok) {
        fail(out);
        return Step::kAgain;
      }
      for (ToolCall& c : calls) out.call(std::move(c.name), std::move(c.arguments));
      raw_.clear();
      state_ = State::kText;
      return Step::kAgain;
    }
    // name[ARGS] or name[CALL_ID]id[ARGS]
    size_t i = first;
    while (i < buf.size() && is_name_char(buf[i])) ++i;
    const std::string_view rest = buf.substr(i);
    size_t args_at = kNpos;
    if (rest.starts_with(kArgs)) {
      args_at = i;
    } else if (rest.starts_with(kCallId)) {
      size_t j = i + kCallId.size();
      while (j < buf.size() && is_name_char(buf[j])) ++j;
      if (buf.substr(j).starts_with(kArgs)) args_at = j;
      else if ((j == buf.size() || is_marker_prefix(buf.substr(j), kArgs)) && !final) return Step::kWait;
    } else if ((rest.empty() || is_marker_prefix(rest, kArgs) || is_marker_prefix(rest, kCallId)) && !final) {
      return Step::kWait;
    }
    if (args_at == kNpos || i == first) {
      fail(out);  // not a call: the marker and what follows are text
      return Step::kAgain;
    }
    name_.assign(buf.substr(first, i - first));
    raw_.append(buf.substr(0, args_at + kArgs.size()));
    buf_.erase(0, args_at + kArgs.size());
    state_ = State::kArgs;
    return Step::kAgain;
  }

  Step args(bool final, Emitter& out) {
    std::string_view buf = buf_;
    const size_t first = skip_space(buf);
    if (first == kNpos) {
      if (!final) return Step::kWait;
      fail(out);  // what is left goes out as text
      return Step::kAgain;
    }
    if (buf[first] != '{') {
      fail(out);
      return Step::kAgain;
    }
    const size_t end = json_value_end(buf, first);
    if (end == kNpos) {
      if (!final) return Step::kWait;
      fail(out);  // what is left goes out as text
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
      if (state_ == State::kAfterMarker) {
        if (after_marker(final, out) == Step::kWait) return;
        continue;
      }
      if (state_ == State::kArgs) {
        if (args(final, out) == Step::kWait) return;
        continue;
      }
      std::string_view buf = buf_;
      const size_t at = buf.find(kCalls);
      if (at == kNpos) {
        const size_t keep = final ? buf.size() : partial_marker_start(buf, kCalls);
        out.text(buf.substr(0, keep));
        buf_.erase(0, keep);
        return;
      }
      out.text(buf.substr(0, at));
      raw_.assign(kCalls);
      buf_.erase(0, at + kCalls.size());
      state_ = State::kAfterMarker;
    }
  }

  const ToolNames& names_;
  State state_ = State::kText;
  std::string name_;
  std::string raw_;
  std::string buf_;
};

}  // namespace

std::unique_ptr<FormatParser> make_mistral_parser(const ToolNames& names) {
  return std::make_unique<MistralParser>(names);
}

}  // namespace mx::chat::formats
