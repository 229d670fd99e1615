#include "chat/output_parser.h"

#include <optional>

#include "chat/tool_formats/format_parser.h"
#include "chat/tool_formats/think_tags.h"

namespace mx::chat {
namespace {

using formats::Emitter;
using formats::FormatParser;

// No tool syntax: everything is text.
class PlainParser final : public FormatParser {
 public:
  void push(std::string_view text, Emitter& out) override { out.text(text); }
  void finish(Emitter&) override {}
};

std::unique_ptr<FormatParser> make_format_parser(ToolCallFormat f, const formats::ToolNames& names) {
  switch (f) {
    case ToolCallFormat::kNone: return formats::make_plain_parser();
    case ToolCallFormat::kHermes: return formats::make_hermes_parser(names);
    case ToolCallFormat::kLlama3: return formats::make_llama3_parser(names);
    case ToolCallFormat::kMistral: return formats::make_mistral_parser(names);
    case ToolCallFormat::kGptOss: return formats::make_gpt_oss_parser(names);
    case ToolCallFormat::kGenericJson: return formats::make_generic_json_parser(names);
    case ToolCallFormat::kDeepSeek: return formats::make_deepseek_parser(names);
    case ToolCallFormat::kFunctionaryV32: return formats::make_functionary_v3_2_parser(names);
    case ToolCallFormat::kFunctionaryV31: return formats::make_functionary_v3_1_parser(names);
    case ToolCallFormat::kCommandR7B: return formats::make_command_r7b_parser(names);
    case ToolCallFormat::kGranite: return formats::make_granite_parser(names);
    case ToolCallFormat::kQwen3Coder: return formats::make_qwen3_coder_parser(names);
  }
  return formats::make_plain_parser();
}

}  // namespace

namespace formats {
std::unique_ptr<FormatParser> make_plain_parser() { return std::make_unique<PlainParser>(); }
}  // namespace formats

// Reasoning is split off first (think tags), the rest goes through the tool-call format.
struct OutputParser::Impl {
  explicit Impl(ParserOptions o)
      : names(std::move(o.tool_names)),
        out(o.reasoning_inline),
        tools(make_format_parser(o.tools, names)) {
    if (o.reasoning == ReasoningFormat::kThinkTags) think.emplace(o.starts_in_reasoning, o.reasoning_inline);
  }

  formats::ToolNames names;  // before tools: the format parser keeps a reference
  Emitter out;
  std::unique_ptr<FormatParser> tools;
  std::optional<formats::ThinkTagSplitter> think;
  bool finished = false;
};

OutputParser::OutputParser(ParserOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
OutputParser::~OutputParser() = default;
OutputParser::OutputParser(OutputParser&&) noexcept = default;
OutputParser& OutputParser::operator=(OutputParser&&) noexcept = default;

std::vector<OutputEvent> OutputParser::push(std::string_view text) {
  Impl& s = *impl_;
  if (s.finished) return {};
  if (s.think) s.think->push(text, s.out, *s.tools);
  else s.tools->push(text, s.out);
  return s.out.take();
}

std::vector<OutputEvent> OutputParser::finish() {
  Impl& s = *impl_;
  if (s.finished) return {};
  s.finished = true;
  if (s.think) s.think->finish(s.out, *s.tools);
  s.tools->finish(s.out);
  return s.out.take();
}

std::string_view tool_call_format_name(ToolCallFormat f) {
  switch (f) {
    case ToolCallFormat::kNone: return "none";
    case ToolCallFormat::kHermes: return "hermes";
    case ToolCallFormat::kLlama3: return "llama3";
    case ToolCallFormat::kMistral: return "mistral";
    case ToolCallFormat::kGptOss: return "gpt-oss";
    case ToolCallFormat::kGenericJson: return "generic-json";
    case ToolCallFormat::kDeepSeek: return "deepseek";
    case ToolCallFormat::kFunctionaryV32: return "functionary-v3.2";
    case ToolCallFormat::kFunctionaryV31: return "functionary-v3.1";
    case ToolCallFormat::kCommandR7B: return "command-r7b";
    case ToolCallFormat::kGranite: return "granite";
    case ToolCallFormat::kQwen3Coder: return "qwen3-coder";
  }
  return "unknown";
}

}  // namespace mx::chat
