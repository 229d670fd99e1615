#include "server/generation_service.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/grammar_setup.h"
#include "engine/sampling_setup.h"
#include "sampling/gbnf.h"
#include "server/tool_calls.h"
#include "tokenizer/stream_decoder.h"

namespace mx::server {

namespace {

GenerationError invalid(std::string message, std::string param = {}, std::string code = {}) {
  return {.status = 400, .message = std::move(message), .param = std::move(param), .code = std::move(code)};
}

FinishKind finish_kind(FinishReason f) {
  switch (f) {
    case FinishReason::kEndOfText:
    case FinishReason::kStopped: return FinishKind::kStop;
    case FinishReason::kLength:
    case FinishReason::kContextFull: return FinishKind::kLength;
    case FinishReason::kRepetition: return FinishKind::kRepetition;
    case FinishReason::kError:
    case FinishReason::kOutOfMemory: return FinishKind::kError;
  }
  return FinishKind::kStop;
}

// A choice the engine failed, as the error every dialect renders.
GenerationError engine_error(const GenerateStats& s) {
  if (s.finish == FinishReason::kOutOfMemory)
    return {.status = kRetryLaterStatus, .message = "the server ran out of memory for this request (" + s.error + "); try again later",
            .param = {}, .code = "out_of_memory"};
  return {.status = 500, .message = "the model failed to run this request: " + s.error, .param = {}, .code = "internal_error"};
}

// The text of each prompt token as the echo shows it: pieces through a stream decoder, so
// they join to the echoed text (from a text prompt the first word loses the space the
// encoder put before it, as in the echo; BOS and other control tokens are empty).
std::vector<std::string> prompt_pieces(const Tokenizer& tok, std::span<const Token> prompt, bool from_text) {
  std::vector<std::string> pieces;
  size_t i = 0;
  if (!prompt.empty() && prompt[0] == tok.vocab().bos()) {
    pieces.emplace_back();
    i = 1;
  }
  StreamDecoder decoder(tok, {.render_special = false, .strip_space_prefix = from_text || i == 0});
  for (; i < prompt.size(); ++i) pieces.push_back(decoder.push(prompt[i]));
  if (!pieces.empty()) pieces.back() += decoder.flush();
  return pieces;
}

}  // namespace

Usage usage_of(const std::vector<GenerateStats>& choices) {
  Usage u;
  for (const GenerateStats& s : choices) {
    u.completion_tokens += s.n_generated;
    u.cached_tokens = std::max(u.cached_tokens, s.n_cached);
    u.drafted_tokens += s.n_drafted;
    u.accepted_tokens += s.n_accepted;
  }
  u.prompt_tokens = choices.empty() ? 0 : choices.front().n_prompt;
  return u;
}

std::variant<std::shared_ptr<void>, GenerationError> Admission::admit(int key) {
  if (in_flight_.load() >= capacity_)
    return GenerationError{.status = 503, .message = "too many requests are waiting; try again later", .param = {}, .code = {}};
  if (key >= 0 && max_per_key_ > 0 && static_cast<size_t>(key) < key_in_flight_.size()) {
    std::lock_guard lock(mutex_);
    if (key_in_flight_[key] >= max_per_key_)
      return GenerationError{.status = 429,
                             .message = fmt::format("this API key already has {} requests in flight; wait for one to end", max_per_key_),
                             .param = {},
                             .code = "rate_limit_exceeded"};
    ++key_in_flight_[key];
  } else {
    key = -1;
  }
  ++in_flight_;
  return std::shared_ptr<void>(static_cast<void*>(this), [this, key](void*) {
    if (key >= 0) {
      std::lock_guard lock(mutex_);
      --key_in_flight_[key];
    }
    --in_flight_;
  });
}

GenerationService::GenerationService(BatchRunner& runner, const Tokenizer& tokenizer, ChatFormat format, Metrics& metrics,
                                     Admission& admission, double timeout_seconds)
    : runner_(runner),
      tokenizer_(tokenizer),
      format_(std::move(format)),
      metrics_(metrics),
      admission_(admission),
      timeout_seconds_(timeout_seconds),
      token_texts_(token_texts(tokenizer)),
      control_token_texts_(token_texts(tokenizer, ControlTokens::kAsText)) {
  sampling_vocab_ = sampling_vocab(tokenizer, token_texts_);
  for (Token t = 0; t < tokenizer.vocab().size(); ++t)
    if (tokenizer.vocab().is_eog(t)) end_tokens_.push_back(t);
}

std::variant<std::shared_ptr<Generation>, GenerationError> GenerationService::start(GenerationRequest r) {
  const Tokenizer& tokenizer = tokenizer_;
  std::vector<Token> prompt;
  ReplyParsing parsing;  // chat: how the reply splits into text, reasoning and tool calls
  if (r.chat) {
    nlohmann::ordered_json extra = r.template_kwargs.is_object() ? r.template_kwargs : nlohmann::ordered_json::object();
    if (!r.tool_calling.tools.is_null()) extra["tools"] = r.tool_calling.tools;
    auto rendered = format_.render_conversation(r.messages, true, extra);
    if (!rendered) return invalid("chat template: " + rendered.error().message, "messages");
    prompt = format_.tokenize(tokenizer, *rendered);
    parsing = reply_parsing(r.tool_calling, format_, rendered->text);
  } else if (!r.prompt_tokens.empty()) {
    for (Token t : r.prompt_tokens)
      if (t < 0 || t >= tokenizer.vocab().size()) return invalid(fmt::format("token {} is not in the vocabulary", t), "prompt");
    prompt = r.prompt_tokens;
  } else {
    prompt = tokenizer.encode(r.prompt_text, true, true);
  }
  if (static_cast<int64_t>(prompt.size()) >= runner_.n_ctx())
    return invalid(fmt::format("the prompt has {} tokens but the context holds {}; shorten it", prompt.size(), runner_.n_ctx()),
                   r.chat ? "messages" : "prompt", "context_length_exceeded");
  if (r.ignore_eos)  // end-of-generation tokens are never drawn
    for (const Token t : end_tokens_) r.options.sampling.logit_bias.push_back({t, -1e9f});
  for (const TokenBias& b : r.options.sampling.logit_bias)  // named here: the error points at the field
    if (b.token >= tokenizer.vocab().size())
      return invalid(fmt::format("logit_bias token {} is not in the vocabulary", b.token), "logit_bias");
  // A forced call's grammar and the request's never meet (the request parsers refuse it); the
  // lazy grammar of "auto" calls gives way to a grammar the request asks for.
  const bool lazy = !parsing.grammar_triggers.empty();
  const bool tool_grammar = !parsing.grammar.empty() && !(lazy && !r.grammar.empty());
  if (tool_grammar) r.grammar = parsing.grammar;
  if (!r.grammar.empty()) {
    auto g = parse_gbnf(r.grammar);
    if (!g) return invalid("grammar: " + g.error().message, tool_grammar ? "tools" : "grammar");
    // A tool grammar spells call markers that real vocabularies hold as control tokens.
    r.options.sampling.grammar = grammar_constraint(std::make_shared<const Grammar>(std::move(*g)),
                                                    tool_grammar ? control_token_texts_ : token_texts_, tokenizer);
    if (tool_grammar && lazy) r.options.sampling.grammar->triggers = parsing.grammar_triggers;
  }
  // As the CLI finishes its settings. DRY's breakers are the request's: `serve`'s configured
  // ones come through the defaults it starts from (found once, at start).
  if (auto st = finish_sampling(r.options, sampling_vocab_); !st) return invalid(st.error().message);

  auto admitted = admission_.admit(r.api_key);
  if (auto* e = std::get_if<GenerationError>(&admitted)) return std::move(*e);

  std::shared_ptr<Generation> g(new Generation(runner_, metrics_));
  if (pin_) g->pin_ = pin_();
  g->admitted_ = std::move(std::get<std::shared_ptr<void>>(admitted));
  g->parsed_ = parsing.active;
  // Each choice is a sequence of its own; choice i draws with seed + i.
  for (int i = 0; i < r.n; ++i) {
    Generation::Choice c;
    c.channel = std::make_shared<OutputChannel>(tokenizer, r.stop, r.chat, parsing.render_special);
    ScheduledRequest job{.prompt = prompt, .options = r.options, .callbacks = {}, .on_done = nullptr};
    job.options.sampling.seed += static_cast<uint64_t>(i);
    c.channel->attach(job);
    auto id = runner_.submit(std::move(job));
    if (!id) {
      for (const Generation::Choice& started : g->choices_) runner_.cancel(started.id);
      g->choices_.clear();  // nothing left for the destructor to cancel
      return invalid(id.error().message);
    }
    c.id = *id;
    if (parsing.active) c.parser.emplace(parsing.options);
    g->choices_.push_back(std::move(c));
  }
  if (timeout_seconds_ > 0)
    g->deadline_ = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                          std::chrono::duration<double>(timeout_seconds_));
  g->echo_ = r.echo ? (r.prompt_text.empty() ? tokenizer.decode(prompt) : r.prompt_text) : "";
  if (r.options.prompt_logprobs) g->prompt_pieces_ = prompt_pieces(tokenizer, prompt, !r.prompt_text.empty());
  g->prompt_ = std::move(prompt);
  return g;
}

Generation::~Generation() { cancel(); }

void Generation::check_deadline() {
  if (timed_out_ || std::chrono::steady_clock::now() < deadline_) return;
  timed_out_ = true;
  for (const Choice& c : choices_) runner_.cancel(c.id);
}

ChoiceFinish Generation::read_to_end(int choice, const std::function<void(const ChoiceUpdate&)>& on_update) {
  for (;;) {
    ChoiceUpdate u = next(choice, std::chrono::seconds(1));
    on_update(u);
    if (u.finish) return std::move(*u.finish);
  }
}

ChoiceUpdate Generation::next(int choice, std::chrono::milliseconds wait) {
  Choice& c = choices_[choice];
  OutputChannel::Update u = c.channel->wait(wait);
  check_deadline();
  ChoiceUpdate out;
  if (c.parser) {
    out.events = c.parser->push(u.text);
    if (u.done) {
      std::vector<chat::OutputEvent> tail = c.parser->finish();
      out.events.insert(out.events.end(), std::make_move_iterator(tail.begin()), std::make_move_iterator(tail.end()));
    }
    for (const chat::OutputEvent& e : out.events)
      if (e.kind == chat::OutputEvent::Kind::kToolCallStart) c.called = true;
  } else if (!u.text.empty()) {
    out.events.push_back({.kind = chat::OutputEvent::Kind::kText, .text = std::move(u.text), .index = 0, .name = {}});
  }
  out.logprobs = std::move(u.logprobs);
  if (u.done) {
    c.finished = true;
    metrics_.request_finished(*u.done);
    ChoiceFinish f{.reason = finish_kind(u.done->finish), .error = std::nullopt, .stop_string = u.stop_matched, .stats = *u.done};
    // A choice cut off by the deadline was cancelled: it ran out of time, not out of things to say.
    if (timed_out_ && u.done->finish == FinishReason::kStopped) f.reason = FinishKind::kLength;
    if (c.called) f.reason = FinishKind::kToolCalls;
    if (finish_kind(u.done->finish) == FinishKind::kError) {  // a failure outranks the calls it cut short
      f.reason = FinishKind::kError;
      f.error = engine_error(*u.done);
    }
    out.finish = f;
  }
  return out;
}

void Generation::cancel() {
  for (Choice& c : choices_)
    if (!c.finished && !c.cancelled) {
      c.cancelled = true;
      runner_.cancel(c.id);
      metrics_.request_cancelled();
    }
}

}  // namespace mx::server
