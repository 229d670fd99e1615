// Command R7B: every part of the reply is wrapped in markers.
//   <|START_THINKING|>reasoning<|END_THINKING|>
//   <|START_ACTION|>[{"tool_call_id": "0", "tool_name": NAME, "parameters": {...}}, ...]<|END_ACTION|>
//   <|START_RESPONSE|>text<|END_RESPONSE|>
// Text outside the markers is kept as text. An action is all of its calls or, if any of them
// is malformed, text with its markers.
#include <vector>

#include "chat/tool_formats/format_parser.h"
#include "chat/tool_formats/scan.h"

namespace mx::chat::formats {
namespace {

constexpr std::string_view kThinkStart = "<|START_THINKING|>";
constexpr std::string_view kThinkEnd = "<|END_THINKING|>";
constexpr std::string_view kActionStart = "<|START_ACTION|>";
constexpr std::string_view kActionEnd = "<|END_ACTION|>";
constexpr std::string_view kResponseStart = "<|START_RESPONSE|>";
constexpr std::string_view kResponseEnd = "<|END_RESPONSE|>";

// {"tool_call_id": ..., "tool_name": NAME, "parameters": {...}} for an accepted name.
std::optional<ToolCall> action_call(const nlohmann::json& c, const ToolNames& names) {
  if (!c.is_object()) return std::nullopt;
  auto name = c.find("tool_name");
  if (name == c.end() || !name->is_string() || !names.accepts(name->get_ref<const std::string&>())) return std::nullopt;
  auto p = c.find("parameters");
  auto args = arguments_text(p == c.end() ? nullptr : &*p);
  if (!args) return std::nullopt;
  return ToolCall{name->get<std::string>(), std::move(*args)};
}

std::optional<std::vector<ToolCall>> parse_action(std::string_view body, const ToolNames& names) {
  auto j = parse_json(trim_space(body));
  if (!j) return std::nullopt;
  if (j->is_object()) *j = nlohmann::json::array({std::move(*j)});
  if (j->empty()) return std::nullopt;
  return all_calls(*j, [&](const nlohmann::json& c) { return action_call(c, names); });
}

class CommandR7BParser final : public FormatParser {
 public:
  explicit CommandR7BParser(const ToolNames& names) : names_(names) {}

  void push(std::string_view text, Emitter& out) override {
    buf_ += text;
    drain(false, out);
  }
  void finish(Emitter& out) override { drain(true, out); }

 private:
  enum class State { kOutside, kThinking, kResponse, kAction };

  // Emits buf_ up to `end` (or up to a possible partial marker) as reasoning or text; true once
  // the end marker has been consumed.
  bool until(std::string_view end, bool final, bool reasoning, Emitter& out) {
    std::string_view buf = buf_;
    const size_t at = buf.find(end);
    const size_t keep = at != kNpos ? at : final ? buf.size() : partial_marker_start(buf, end);
    if (reasoning) out.reasoning(buf.substr(0, keep));
    else out.text(buf.substr(0, keep));
    buf_.erase(0, at != kNpos ? at + end.size() : keep);
    return at != kNpos;
  }

  void drain(bool final, Emitter& out) {
    for (;;) {
      std::string_view buf = buf_;
      switch (state_) {
        case State::kOutside: {
          const Found f = find_first(buf, {kThinkStart, kActionStart, kResponseStart});
          if (f.at == kNpos) {
            const size_t keep =
                final ? buf.size() : partial_marker_start(buf, {kThinkStart, kActionStart, kResponseStart});
            out.text(buf.substr(0, keep));
            buf_.erase(0, keep);
            return;
          }
          out.text(buf.substr(0, f.at));
          static constexpr std::string_view kStarts[] = {kThinkStart, kActionStart, kResponseStart};
          static constexpr State kNext[] = {State::kThinking, State::kAction, State::kResponse};
          buf_.erase(0, f.at + kStarts[f.which].size());
          state_ = kNext[f.which];
          continue;
        }
        case State::kThinking:
          if (!until(kThinkEnd, final, true, out)) return;
          state_ = State::kOutside;
          continue;
        case State::kResponse:
          if (!until(kResponseEnd, final, false, out)) return;
          state_ = State::kOutside;
          continue;
        case State::kAction: {
          const size_t at = buf.find(kActionEnd);
          if (at == kNpos && !final) return;
          // The engine may stop before <|END_ACTION|>: a complete list is still an action.
          const std::string_view body = buf.substr(0, at);
          auto calls = parse_action(body, names_);
          const size_t first = skip_space(body);
          if (!calls && at == kNpos && first != kNpos && body[first] == '[') {  // cut off: the calls it finished
            LeadingCalls done = leading_calls(body, first, [&](const nlohmann::json& c) { return action_call(c, names_); });
            if (!done.calls.empty()) {
              for (ToolCall& c : done.calls) out.call(std::move(c.name), std::move(c.arguments));
              out.text(body.substr(done.end));
              buf_.clear();
              state_ = State::kOutside;
              continue;
            }
          }
          if (calls) {
            for (ToolCall& c : *calls) out.call(std::move(c.name), std::move(c.arguments));
          } else {
            out.text(kActionStart);
            out.text(at == kNpos ? buf : buf.substr(0, at + kActionEnd.size()));
          }
          buf_.erase(0, at == kNpos ? buf.size() : at + kActionEnd.size());
          state_ = State::kOutside;
          continue;
        }
      }
    }
  }

  const ToolNames& names_;
  State state_ = State::kOutside;
  std::string buf_;
};

}  // namespace

std::unique_ptr<FormatParser> make_command_r7b_parser(const ToolNames& names) {
  return std::make_unique<CommandR7BParser>(names);
}

}  // namespace mx::chat::formats
