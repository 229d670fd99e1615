#include "server/tool_call_grammar.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "sampling/json_schema.h"

namespace mx::server {

namespace {

using nlohmann::json;
using chat::ToolCallFormat;

// How a format writes its calls, as literal text around each call's name and arguments:
//   prefix? open call (separator call)* close
//   call = call_open NAME name_to_args ARGUMENTS call_close
struct CallSyntax {
  std::string_view open = {}, close = {};  // around all of the reply's calls
  std::string_view call_open = {};        // before a call's name
  bool json_name = true;                  // the name as a JSON string (else bare)
  std::string_view name_to_args = {};     // between the name and the arguments
  std::string_view call_close = {};       // after the arguments
  std::string_view separator = {};        // between parallel calls
  bool can_parallel = true;               // the format has a way to write several calls
  bool xml_arguments = false;             // <parameter=KEY>\nVALUE\n</parameter>\n each (else a JSON object)
  std::string_view optional_prefix = {};  // may come first (Llama 3's <|python_tag|>)
  // The words that start a call ("auto" replies); at_start: only where the reply begins.
  std::vector<std::pair<std::string_view, bool>> triggers = {};
};

bool has(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// nullopt for formats without a grammar.
std::optional<CallSyntax> syntax_of(ToolCallFormat format, bool parallel, std::string_view source) {
  constexpr std::string_view kJsonName = "{\"name\": ", kJsonArgs = ", \"arguments\": ";
  switch (format) {
    case ToolCallFormat::kNone: return std::nullopt;
    case ToolCallFormat::kHermes:
      return CallSyntax{.call_open = "<tool_call>\n{\"name\": ", .name_to_args = kJsonArgs,
                        .call_close = "}\n</tool_call>", .separator = "\n", .triggers = {{"<tool_call>", false}}};
    case ToolCallFormat::kQwen3Coder:
      return CallSyntax{.call_open = "<tool_call>\n<function=", .json_name = false, .name_to_args = ">\n",
                        .call_close = "</function>\n</tool_call>", .separator = "\n", .xml_arguments = true,
                        .triggers = {{"<tool_call>", false}}};
    case ToolCallFormat::kGenericJson:
      return CallSyntax{.open = parallel ? "{\"tool_calls\": [" : "{\"tool_call\": ", .close = parallel ? "]}" : "}",
                        .call_open = kJsonName, .name_to_args = kJsonArgs, .call_close = "}", .separator = ", "};
    case ToolCallFormat::kLlama3:
      return CallSyntax{.call_open = kJsonName, .name_to_args = ", \"parameters\": ", .call_close = "}",
                        .separator = "; ", .optional_prefix = "<|python_tag|>",
                        .triggers = {{"{\"", true}, {"<|python_tag|>", false}}};
    case ToolCallFormat::kMistral:
      if (has(source, "[ARGS]"))  // Small 3.2, Devstral, Ministral: one marker per call
        return CallSyntax{.call_open = "[TOOL_CALLS]", .json_name = false, .name_to_args = "[ARGS]",
                          .triggers = {{"[TOOL_CALLS]", false}}};
      return CallSyntax{.open = "[TOOL_CALLS][", .close = "]", .call_open = kJsonName, .name_to_args = kJsonArgs,
                        .call_close = "}", .separator = ", ", .triggers = {{"[TOOL_CALLS]", false}}};
    case ToolCallFormat::kGptOss:  // <|call|> ends the generation: one call per reply
      return CallSyntax{.call_open = "<|channel|>commentary to=functions.", .json_name = false,
                        .name_to_args = " <|constrain|>json<|message|>", .can_parallel = false,
                        .triggers = {{"<|channel|>commentary to=", false}}};
    case ToolCallFormat::kDeepSeek:
      if (has(source, "```json"))  // R1 and its distills: a type, then the name and fenced JSON
        return CallSyntax{.open = "<｜tool▁calls▁begin｜>", .close = "<｜tool▁calls▁end｜>",
                          .call_open = "<｜tool▁call▁begin｜>function<｜tool▁sep｜>", .json_name = false,
                          .name_to_args = "\n```json\n", .call_close = "\n```<｜tool▁call▁end｜>", .separator = "\n",
                          .triggers = {{"<｜tool▁calls▁begin｜>", false}}};
      return CallSyntax{.open = "<｜tool▁calls▁begin｜>", .close = "<｜tool▁calls▁end｜>",
                        .call_open = "<｜tool▁call▁begin｜>", .json_name = false, .name_to_args = "<｜tool▁sep｜>",
                        .call_close = "<｜tool▁call▁end｜>", .triggers = {{"<｜tool▁calls▁begin｜>", false}}};
    case ToolCallFormat::kFunctionaryV32:  // the prompt ends with ">>>"; triggers: per tool, below
      return CallSyntax{.json_name = false, .name_to_args = "\n", .separator = ">>>", .optional_prefix = ">>>"};
    case ToolCallFormat::kFunctionaryV31:
      return CallSyntax{.call_open = "<function=", .json_name = false, .name_to_args = ">",
                        .call_close = "</function>", .triggers = {{"<function=", false}}};
    case ToolCallFormat::kCommandR7B:
      return CallSyntax{.open = "<|START_ACTION|>[", .close = "]<|END_ACTION|>",
                        .call_open = "{\"tool_call_id\": \"0\", \"tool_name\": ", .name_to_args = ", \"parameters\": ",
                        .call_close = "}", .separator = ", ", .triggers = {{"<|START_ACTION|>", false}}};
    case ToolCallFormat::kGranite:
      return CallSyntax{.open = "<|tool_call|>[", .close = "]", .call_open = kJsonName, .name_to_args = kJsonArgs,
                        .call_close = "}", .separator = ", ", .triggers = {{"<|tool_call|>", false}}};
  }
  return std::nullopt;
}

// A GBNF quoted literal of `s`.
std::string literal(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  return out + "\"";
}

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

// Copies a quoted literal, character class or repetition count starting at s[i] up to its
// closing character, escapes included.
size_t copy_until(std::string_view s, size_t i, char close, std::string& out) {
  out += s[i++];
  while (i < s.size() && s[i] != close) {
    if (s[i] == '\\' && i + 1 < s.size()) out += s[i++];
    out += s[i++];
  }
  if (i < s.size()) out += s[i++];
  return i;
}

// Qwen3-Coder's arguments: each property as <parameter=KEY>\nVALUE\n</parameter>\n, in the
// schema's order, required ones always. A value is JSON (a string quoted), which the parser
// reads back as JSON: so a string "42" stays a string. "" when a property's schema has no
// grammar of its own.
std::string xml_arguments_rules(const json& schema, const std::string& prefix) {
  std::string rules, root = prefix + "root ::= \"\"";
  const json* properties = schema.is_object() && schema.contains("properties") ? &schema["properties"] : nullptr;
  if (properties && properties->is_object()) {
    const json required = schema.value("required", json::array());
    size_t j = 0;
    for (const auto& [key, property] : properties->items()) {
      json sub = property;
      for (const char* defs : {"$defs", "definitions"})  // $ref inside a property reaches the root's
        if (sub.is_object() && schema.contains(defs) && !sub.contains(defs)) sub[defs] = schema[defs];
      auto gbnf = json_schema_to_gbnf(sub.dump());
      if (!gbnf) return "";
      const std::string p = fmt::format("{}p{}", prefix, j++);
      rules += prefix_gbnf_rules(*gbnf, p + "-");
      if (!rules.ends_with('\n')) rules += '\n';
      rules += fmt::format("{} ::= {} {}-root \"\\n</parameter>\\n\"\n", p, literal("<parameter=" + key + ">\n"), p);
      const bool is_required = required.is_array() && std::find(required.begin(), required.end(), key) != required.end();
      root += " " + p + (is_required ? "" : "?");
    }
  }
  return root + "\n" + rules;
}

// What the model may write while it reasons before the calls: anything but "</".
constexpr std::string_view kReasoningRule = "reasoning ::= ([^<] | \"<\" [^/])*\n";

}  // namespace

std::string prefix_gbnf_rules(std::string_view s, std::string_view prefix) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '"') i = copy_until(s, i, '"', out);
    else if (c == '[') i = copy_until(s, i, ']', out);
    else if (c == '{') i = copy_until(s, i, '}', out);
    else if (c == '#') {
      while (i < s.size() && s[i] != '\n') out += s[i++];
    } else if (is_name_char(c)) {
      out += prefix;
      while (i < s.size() && is_name_char(s[i])) out += s[i++];
    } else {
      out += s[i++];
    }
  }
  return out;
}

ToolGrammar tool_call_grammar(const std::vector<ToolDefinition>& tools, ToolCallFormat format,
                              const ToolGrammarOptions& o) {
  const std::optional<CallSyntax> syntax = syntax_of(format, o.parallel, o.template_source);
  if (tools.empty() || !syntax) return {};
  const CallSyntax& s = *syntax;
  // Each tool's arguments grammar keeps its own rules under "t<i>-"; `function` picks a name
  // and then that tool's arguments.
  std::string rules, function = "function ::= ";
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string prefix = fmt::format("t{}-", i);
    const std::string arguments =
        s.xml_arguments ? xml_arguments_rules(tools[i].parameters, prefix) : prefix_gbnf_rules(tools[i].arguments_gbnf, prefix);
    if (arguments.empty()) return {};
    rules += arguments;
    if (!rules.ends_with('\n')) rules += '\n';
    const std::string name = s.json_name ? json(tools[i].name).dump(-1, ' ', false, json::error_handler_t::replace) : tools[i].name;
    function += fmt::format("{}{} {}root", i ? " | " : "", literal(name + std::string(s.name_to_args)), prefix);
  }
  std::string call = "call ::= ";
  if (!s.call_open.empty()) call += literal(s.call_open) + " ";
  call += "function";
  if (!s.call_close.empty()) call += " " + literal(s.call_close);

  std::string calls = "calls ::= ";
  if (!s.optional_prefix.empty()) calls += literal(s.optional_prefix) + "? ";
  if (!s.open.empty()) calls += literal(s.open) + " ";
  calls += "call";
  if (o.parallel && s.can_parallel) calls += s.separator.empty() ? " call*" : " (" + literal(s.separator) + " call)*";
  if (!s.close.empty()) calls += " " + literal(s.close);

  ToolGrammar g;
  if (o.after_reasoning && !o.lazy) {
    g.gbnf = "root ::= reasoning \"</think>\" [ \\n]* calls\n" + std::string(kReasoningRule);
  } else {
    g.gbnf = "root ::= calls\n";
  }
  g.gbnf += calls + "\n" + call + "\n" + function + "\n" + rules;
  if (o.lazy) {
    LazyTrigger anywhere, at_start;
    at_start.at_start_only = true;
    for (const auto& [word, start_only] : s.triggers) (start_only ? at_start : anywhere).words.emplace_back(word);
    if (format == ToolCallFormat::kFunctionaryV32)  // a call's recipient line names the tool
      for (const ToolDefinition& t : tools) {
        at_start.words.push_back(t.name + "\n");
        anywhere.words.push_back(">>>" + t.name + "\n");
      }
    for (LazyTrigger* t : {&anywhere, &at_start})
      if (!t->words.empty()) g.triggers.push_back(std::move(*t));
  }
  return g;
}

}  // namespace mx::server
