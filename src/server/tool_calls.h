// Tool calling and reasoning in chat replies: how a request's reply is parsed back (the
// chat template's call format, chat/output_parser.h), the grammar that forces a call when
// tool_choice asks for one, and OpenAI's message / delta shapes for text, reasoning and calls.
#pragma once

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/output_parser.h"
#include "engine/chat_format.h"
#include "server/openai_request.h"
#include "server/tool_call_grammar.h"

namespace mx::server {

struct ReplyParsing {
  bool active = false;          // the reply goes through an OutputParser (else it is plain text)
  chat::ParserOptions options;  // for each choice's parser
  bool render_special = false;  // control tokens are text to the parser (gpt-oss channels, call markers)
  std::string grammar;          // GBNF of the tool calls, "" if the reply is free
  // Non-empty: the grammar waits until the reply writes one of these (tool_choice "auto":
  // free text until the model starts a call, then the call follows the tools' schemas).
  std::vector<LazyTrigger> grammar_triggers;
};

// How the reply may call tools and show reasoning (chat prompts only).
struct ToolCalling {
  nlohmann::ordered_json tools;               // as the template sees them ([{type, function}]), null if none
  std::vector<ToolDefinition> definitions;    // one per tool, same order
  ToolChoice choice = ToolChoice::kAuto;
  std::string choice_name;                    // kFunction: the function the reply must call
  bool parallel = true;                       // several calls in one reply
  bool reasoning_inline = false;              // reasoning stays in the text, tags included
};

// The tool fields of an OpenAI-shaped request (moved out of it), as the other dialects'
// request parsers produce one too.
ToolCalling tool_calling_of(CompletionRequest& r);

// From the request's tools, the template's formats and the rendered prompt (whose end may already
// open a reasoning block). A forced call (tool_choice "required" or a named function) gets the
// grammar of the template's call syntax (tool_call_grammar.h) or, for templates with no known
// syntax, llama.cpp's generic JSON shape ({"tool_call": {...}} or {"tool_calls": [...]}).
// With tool_choice "auto", the template's calls get the same grammar, lazily: it starts at the
// call marker (`grammar_triggers`).
ReplyParsing reply_parsing(const ToolCalling& r, const ChatFormat& format, std::string_view prompt_text);

// "call_" and 24 random letters and digits, as OpenAI's ids look.
std::string tool_call_id(std::mt19937_64& rng);

// Text after a call that is only whitespace (the newline between two calls) is held back, and
// dropped unless more text follows: otherwise every parallel call would bring a "\n" content.
class CallGapText {
 public:
  // The text to show now.
  std::string take(const std::string& text, bool after_call);

 private:
  std::string held_;
};

// A whole reply's events gathered into OpenAI's chat message.
class ChatMessageBuilder {
 public:
  explicit ChatMessageBuilder(std::mt19937_64& rng) : rng_(rng) {}
  void add(const std::vector<chat::OutputEvent>& events);
  bool has_calls() const { return !calls_.empty(); }
  // {role, content (null if there is no text but calls), reasoning_content?, tool_calls?}
  nlohmann::json message() const;

 private:
  std::mt19937_64& rng_;
  CallGapText gap_;
  std::string content_, reasoning_;
  nlohmann::json calls_ = nlohmann::json::array();
};

// A streamed reply's events as OpenAI's deltas: {content}, {reasoning_content}, a call's
// first chunk {tool_calls: [{index, id, type, function: {name, arguments: ""}}]}, then
// {tool_calls: [{index, function: {arguments: piece}}]}.
class ChatDeltaBuilder {
 public:
  explicit ChatDeltaBuilder(std::mt19937_64& rng) : rng_(rng) {}
  std::vector<nlohmann::json> deltas(const std::vector<chat::OutputEvent>& events);
  bool has_calls() const { return has_calls_; }

 private:
  std::mt19937_64& rng_;
  CallGapText gap_;
  bool has_calls_ = false;
};

}  // namespace mx::server
