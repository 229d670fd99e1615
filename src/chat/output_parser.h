// Splits a model's generated text into plain text, reasoning and tool calls, incrementally,
// in the format its chat template taught it (Hermes, Llama 3, Mistral, gpt-oss harmony, ...).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mx::chat {

enum class ToolCallFormat {
  kNone,
  kHermes,       // <tool_call>{json}</tool_call>: Hermes 2/3, Qwen 2.5, Qwen 3, Granite 4
  kLlama3,       // a bare {"name": ..., "parameters": {...}} (or "arguments"), optionally after
                 // <|python_tag|>; several separated by ';'
  kMistral,      // [TOOL_CALLS][{"name":..., "arguments":{...}}, ...] or [TOOL_CALLS]name[ARGS]{...}
  kGptOss,       // harmony channels: analysis = reasoning, final = text,
                 // commentary to=functions.NAME ... <|message|>{args}<|call|> = a call
  kGenericJson,  // the whole reply is {"tool_calls":[{"name":..., "arguments":{...}}]} or {"response": "text"}
  kDeepSeek,     // <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{...}\n```
                 // <｜tool▁call▁end｜>...<｜tool▁calls▁end｜> (R1); V3.1 writes NAME<｜tool▁sep｜>{...}
  kFunctionaryV32,  // the reply continues a ">>>": all\ntext, or NAME\n{args}; more blocks after ">>>"
  kFunctionaryV31,  // <function=NAME>{args}</function>
  kCommandR7B,   // <|START_THINKING|>reasoning<|END_THINKING|>, <|START_RESPONSE|>text<|END_RESPONSE|>,
                 // <|START_ACTION|>[{"tool_call_id", "tool_name", "parameters"}, ...]<|END_ACTION|>
  kGranite,      // <|tool_call|>[{"name":..., "arguments":{...}}, ...]; Granite 3.3's <response>...</response>
  kQwen3Coder,   // <tool_call><function=NAME><parameter=KEY>value</parameter>...</function></tool_call>
                 // (Qwen3-Coder, Qwen3.5, Nemotron 3 Nano, StepFun 3.5)
};

enum class ReasoningFormat {
  kNone,
  kThinkTags,  // <think>...</think> at the start of the reply (or already opened by the prompt)
};

struct ParserOptions {
  ToolCallFormat tools = ToolCallFormat::kNone;
  ReasoningFormat reasoning = ReasoningFormat::kNone;
  bool starts_in_reasoning = false;     // the prompt already opened the reasoning block
  bool reasoning_inline = false;        // keep reasoning as plain text, tags included
  std::vector<std::string> tool_names;  // known functions: a call to another name is returned as text
};

struct OutputEvent {
  enum class Kind { kText, kReasoning, kToolCallStart, kToolCallArguments };
  Kind kind;
  std::string text;  // kText / kReasoning: the new piece; kToolCallArguments: a piece of the arguments JSON
  int index = 0;     // tool call index within the reply (kToolCallStart / kToolCallArguments)
  std::string name;  // kToolCallStart: the function name
};

// One parser per generated reply. Not thread-safe; cheap to create.
class OutputParser {
 public:
  explicit OutputParser(ParserOptions options);
  ~OutputParser();
  OutputParser(OutputParser&&) noexcept;
  OutputParser& operator=(OutputParser&&) noexcept;

  // New generated text, in any chunking (even one byte at a time, even mid-marker). Returns the
  // events that are certain so far; text that might still start a marker is held back.
  std::vector<OutputEvent> push(std::string_view text);
  // End of generation: everything held back is resolved. A call that never closed or whose JSON
  // does not parse comes back as kText with its original characters; a complete call is emitted.
  // The parser must not be pushed to afterwards.
  std::vector<OutputEvent> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Which family a chat template (its Jinja source) writes tool calls in, judged by the markers
// it renders. Templates with no recognised markers (or a tool syntax not implemented here, such
// as GLM's <arg_key> or MiniMax's <invoke>) give kNone; kGenericJson is never detected: it is for a
// server that constrains such a model's output to that JSON shape itself.
ToolCallFormat detect_tool_call_format(std::string_view template_source);
ReasoningFormat detect_reasoning_format(std::string_view template_source);
std::string_view tool_call_format_name(ToolCallFormat f);

}  // namespace mx::chat
