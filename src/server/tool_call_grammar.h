// The grammar of a reply's tool calls in the syntax the model's chat template taught it
// (Hermes <tool_call>, Llama 3 JSON, Mistral [TOOL_CALLS], harmony channels, DeepSeek's
// call tokens, ...), built from the tools' JSON Schemas: forced calls (tool_choice
// "required" or a named function) follow it from the first token, "auto" calls from the
// marker that starts a call on (lazy triggers). Markers that are control tokens in a real
// vocabulary are plain text here: the grammar is matched against token texts that render
// control tokens (engine/grammar_setup.h), so "<|python_tag|>" is one token's text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/output_parser.h"
#include "sampling/lazy_grammar.h"

namespace mx::server {

struct ToolDefinition {
  std::string name;
  std::string arguments_gbnf;   // its parameters schema as a grammar (root: the arguments object)
  nlohmann::json parameters;    // the schema itself, for formats that write arguments one by one
};

struct ToolGrammarOptions {
  bool parallel = false;            // several calls in one reply (where the format has a way)
  bool lazy = false;                // "auto": the grammar starts at a call marker (`triggers`)
  bool after_reasoning = false;     // forced: the prompt opened <think>; the calls follow "</think>"
  std::string_view template_source; // tells variants apart (Mistral's [ARGS], DeepSeek R1's fence)
};

struct ToolGrammar {
  std::string gbnf;                   // "" when the format has no grammar (or no tools)
  std::vector<LazyTrigger> triggers;  // lazy: the words that start the grammar
};

ToolGrammar tool_call_grammar(const std::vector<ToolDefinition>& tools, chat::ToolCallFormat format,
                              const ToolGrammarOptions& options);

// The GBNF text with every rule name prefixed (so several schemas' grammars can share one file).
std::string prefix_gbnf_rules(std::string_view gbnf, std::string_view prefix);

}  // namespace mx::server
