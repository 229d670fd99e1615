// Recognising a template's tool-call and reasoning syntax from the markers its source renders.
#include "chat/output_parser.h"

namespace mx::chat {
namespace {
bool has(std::string_view s, std::string_view marker) { return s.find(marker) != std::string_view::npos; }
}  // namespace

ToolCallFormat detect_tool_call_format(std::string_view src) {
  if (has(src, "<|channel|>")) return ToolCallFormat::kGptOss;
  if (has(src, "[TOOL_CALLS]")) return ToolCallFormat::kMistral;
  if (has(src, "<｜tool▁calls▁begin｜>")) return ToolCallFormat::kDeepSeek;  // R1 and V3.1; V3.2+ use DSML
  // Cohere2 MoE shares <|START_ACTION|> but opens its reasoning in the prompt and answers in
  // <|START_TEXT|>: not implemented.
  if (has(src, "<|START_ACTION|>") && !has(src, "<|START_TEXT|>")) return ToolCallFormat::kCommandR7B;
  if (has(src, ">>>all")) return ToolCallFormat::kFunctionaryV32;
  if (has(src, "<|tool_call|>")) return ToolCallFormat::kGranite;
  const bool xml_parameters = has(src, "<function=") && has(src, "<parameter=");
  if (has(src, "<tool_call>") && xml_parameters) return ToolCallFormat::kQwen3Coder;
  // Other XML-argument dialects that reuse <tool_call> (GLM's <arg_key>, MiniMax's <invoke>) and
  // Seed-OSS's <seed:tool_call><function=...><parameter=...> are not implemented.
  const bool xml_arguments = xml_parameters || has(src, "<arg_key>") || has(src, "<invoke");
  if (has(src, "<tool_call>")) return xml_arguments ? ToolCallFormat::kNone : ToolCallFormat::kHermes;
  if (!xml_arguments && has(src, "<function=") && has(src, "</function>")) return ToolCallFormat::kFunctionaryV31;
  if (!xml_arguments && (has(src, "<|python_tag|>") || has(src, "<|start_header_id|>ipython"))) {
    return ToolCallFormat::kLlama3;
  }
  return ToolCallFormat::kNone;
}

ReasoningFormat detect_reasoning_format(std::string_view src) {
  return has(src, "<think>") ? ReasoningFormat::kThinkTags : ReasoningFormat::kNone;
}

}  // namespace mx::chat
