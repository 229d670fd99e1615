// The pieces every tool-call format parser shares: where events go, and the parser interface.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/output_parser.h"

namespace mx::chat::formats {

// Collects the events of one push/finish; numbers tool calls across the whole reply.
class Emitter {
 public:
  explicit Emitter(bool reasoning_inline) : reasoning_inline_(reasoning_inline) {}

  void text(std::string_view s) { append(OutputEvent::Kind::kText, s); }
  void reasoning(std::string_view s) {
    append(reasoning_inline_ ? OutputEvent::Kind::kText : OutputEvent::Kind::kReasoning, s);
  }
  // A whole call: its start, then its arguments (compact JSON text) as one piece.
  void call(std::string name, std::string arguments);

  std::vector<OutputEvent> take() { return std::exchange(events_, {}); }

 private:
  void append(OutputEvent::Kind kind, std::string_view s);

  bool reasoning_inline_;
  int next_call_ = 0;
  std::vector<OutputEvent> events_;
};

// Which function names a call may use (all of them when the list is empty).
class ToolNames {
 public:
  explicit ToolNames(std::vector<std::string> names) : names_(std::move(names)) {}
  bool accepts(std::string_view name) const;

 private:
  std::vector<std::string> names_;
};

// An incremental parser of one family's syntax. push() consumes what is certain and keeps the
// rest; finish() resolves everything kept.
class FormatParser {
 public:
  virtual ~FormatParser() = default;
  virtual void push(std::string_view text, Emitter& out) = 0;
  virtual void finish(Emitter& out) = 0;
};

std::unique_ptr<FormatParser> make_plain_parser();
std::unique_ptr<FormatParser> make_hermes_parser(const ToolNames& names);
std::unique_ptr<FormatParser> make_llama3_parser(const ToolNames& names);
std::unique_ptr<FormatParser> make_mistral_parser(const ToolNames& names);
std::unique_ptr<FormatParser> make_gpt_oss_parser(const ToolNames& names);
std::unique_ptr<FormatParser> make_generic_json_parser(const ToolNames& names);
std::unique_ptr<FormatParser> make_deepseek_parser(const ToolNames& names);
std::unique_ptr<FormatParser> make_functionary_v3_2_parser(const ToolNames& names);
std::unique_ptr<FormatParser> make_functionary_v3_1_parser(const ToolNames& names);
std::unique_ptr<FormatParser> make_command_r7b_parser(const ToolNames& names);
std::unique_ptr<FormatParser> make_granite_parser(const ToolNames& names);
std::unique_ptr<FormatParser> make_qwen3_coder_parser(const ToolNames& names);

}  // namespace mx::chat::formats
