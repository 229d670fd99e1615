#include "server/tool_calls.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <utility>

namespace mx::server {

namespace {

using nlohmann::json;
using chat::OutputEvent;
using chat::ToolCallFormat;

bool starts_reasoning(std::string_view prompt) {
  while (!prompt.empty() && std::isspace(static_cast<unsigned char>(prompt.back()))) prompt.remove_suffix(1);
  return prompt.ends_with("<think>");
}

}  // namespace

ToolCalling tool_calling_of(CompletionRequest& r) {
  return {.tools = std::move(r.tools),
          .definitions = std::move(r.tool_definitions),
          .choice = r.tool_choice,
          .choice_name = std::move(r.tool_choice_name),
          .parallel = r.parallel_tool_calls,
          .reasoning_inline = r.reasoning_inline};
}

ReplyParsing reply_parsing(const ToolCalling& r, const ChatFormat& format, std::string_view prompt_text) {
  ReplyParsing p;
  const ToolCallFormat template_format = format.tool_call_format();
  const bool has_tools = !r.definitions.empty() && r.choice != ToolChoice::kNone;
  const bool forced = has_tools && (r.choice == ToolChoice::kRequired || r.choice == ToolChoice::kFunction);
  // gpt-oss writes everything in channels: they are parsed even without tools.
  ToolCallFormat tools = has_tools || template_format == ToolCallFormat::kGptOss ? template_format : ToolCallFormat::kNone;
  if (forced && template_format == ToolCallFormat::kNone) tools = ToolCallFormat::kGenericJson;
  p.options.tools = tools;
  p.options.reasoning = format.reasoning_format();
  p.options.reasoning_inline = r.reasoning_inline;
  p.options.starts_in_reasoning = p.options.reasoning != chat::ReasoningFormat::kNone && starts_reasoning(prompt_text);
  for (const ToolDefinition& d : r.definitions) p.options.tool_names.push_back(d.name);
  p.active = tools != ToolCallFormat::kNone || p.options.reasoning != chat::ReasoningFormat::kNone;
  p.render_special = tools != ToolCallFormat::kNone;
  if (has_tools) {
    std::vector<ToolDefinition> allowed;
    for (const ToolDefinition& d : r.definitions)
      if (r.choice != ToolChoice::kFunction || d.name == r.choice_name) allowed.push_back(d);
    ToolGrammar g = tool_call_grammar(allowed, tools,
                                      {.parallel = r.parallel && r.choice != ToolChoice::kFunction,
                                       .lazy = !forced,
                                       .after_reasoning = p.options.starts_in_reasoning,
                                       .template_source = format.source()});
    if (forced || !g.triggers.empty()) {  // "auto" without a call marker stays free
      p.grammar = std::move(g.gbnf);
      p.grammar_triggers = std::move(g.triggers);
    }
  }
  return p;
}

std::string tool_call_id(std::mt19937_64& rng) {
  static constexpr std::string_view kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string id = "call_";
  std::uniform_int_distribution<size_t> pick(0, kChars.size() - 1);
  for (int i = 0; i < 24; ++i) id += kChars[pick(rng)];
  return id;
}

std::string CallGapText::take(const std::string& text, bool after_call) {
  const bool blank = std::all_of(text.begin(), text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  if (after_call && blank) {
    held_ += text;
    return "";
  }
  return std::exchange(held_, "") + text;
}

void ChatMessageBuilder::add(const std::vector<OutputEvent>& events) {
  for (const OutputEvent& e : events) {
    switch (e.kind) {
      case OutputEvent::Kind::kText: content_ += gap_.take(e.text, has_calls()); break;
      case OutputEvent::Kind::kReasoning: reasoning_ += e.text; break;
      case OutputEvent::Kind::kToolCallStart:
        calls_.push_back({{"id", tool_call_id(rng_)}, {"type", "function"}, {"function", {{"name", e.name}, {"arguments", ""}}}});
        break;
      case OutputEvent::Kind::kToolCallArguments:
        if (e.index >= 0 && static_cast<size_t>(e.index) < calls_.size())
          calls_[e.index]["function"]["arguments"] = calls_[e.index]["function"]["arguments"].get<std::string>() + e.text;
        break;
    }
  }
}

json ChatMessageBuilder::message() const {
  json m = {{"role", "assistant"}, {"content", content_.empty() && has_calls() ? json(nullptr) : json(content_)}};
  if (!reasoning_.empty()) m["reasoning_content"] = reasoning_;
  if (has_calls()) m["tool_calls"] = calls_;
  return m;
}

std::vector<json> ChatDeltaBuilder::deltas(const std::vector<OutputEvent>& events) {
  std::vector<json> out;
  for (const OutputEvent& e : events) {
    switch (e.kind) {
      case OutputEvent::Kind::kText:
      case OutputEvent::Kind::kReasoning: {
        const bool is_text = e.kind == OutputEvent::Kind::kText;
        const std::string text = is_text ? gap_.take(e.text, has_calls_) : e.text;
        if (text.empty()) break;
        const char* key = is_text ? "content" : "reasoning_content";
        if (!out.empty() && out.back().size() == 1 && out.back().contains(key))  // join runs of one kind
          out.back()[key] = out.back()[key].get<std::string>() + text;
        else out.push_back({{key, text}});
        break;
      }
      case OutputEvent::Kind::kToolCallStart:
        has_calls_ = true;
        out.push_back({{"tool_calls", json::array({{{"index", e.index}, {"id", tool_call_id(rng_)}, {"type", "function"},
                                                   {"function", {{"name", e.name}, {"arguments", ""}}}}})}});
        break;
      case OutputEvent::Kind::kToolCallArguments:
        if (e.text.empty()) break;
        out.push_back({{"tool_calls", json::array({{{"index", e.index}, {"function", {{"arguments", e.text}}}}})}});
        break;
    }
  }
  return out;
}

}  // namespace mx::server
