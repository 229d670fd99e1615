// The generation core every API dialect shares (OpenAI chat and text completions today;
// Ollama, Anthropic and Responses next). A dialect adapter maps its JSON to a
// GenerationRequest; start() builds and checks the prompt, finishes the sampling settings,
// admits the request and submits its choices; the Generation it returns yields each choice's
// output as updates of dialect-neutral events, which the adapter renders as its replies and
// streams. Errors are a GenerationError that each adapter renders in its own shape.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/output_parser.h"
#include "engine/batch_runner.h"
#include "engine/chat_format.h"
#include "engine/generate.h"
#include "engine/sampling_setup.h"
#include "server/metrics.h"
#include "server/openai_request.h"
#include "server/output_channel.h"
#include "server/tool_calls.h"
#include "tokenizer/tokenizer.h"

namespace mx::server {

// A request the service refuses or cannot take: 400 (the client must fix `param`),
// 429 (the API key is at its limit), 503 (the queue is full); or a choice the engine could
// not finish: 500 (the model failed), 503 (memory ran out: try again later).
struct GenerationError {
  int status = 400;
  std::string message;
  std::string param;  // the request field at fault ("messages", "prompt", "logit_bias", "grammar", "tools"), "" if none
  std::string code;   // "context_length_exceeded", "rate_limit_exceeded", or ""
};

struct GenerationRequest {
  // The prompt: chat messages rendered by the model's template ...
  bool chat = true;
  nlohmann::ordered_json messages;         // [{role, content, ...}]
  nlohmann::ordered_json template_kwargs;  // more template variables (object or null)
  ToolCalling tool_calling;
  // ... or a text (encoded with BOS) or token ids.
  std::string prompt_text;
  std::vector<Token> prompt_tokens;

  GenerateOptions options;         // sampling, max tokens, logprobs / top_logprobs / prompt_logprobs, seed
  std::vector<std::string> stop;   // stop strings: never sent, the choice ends there
  bool ignore_eos = false;         // end-of-generation tokens are never drawn
  int n = 1;                       // choices, each its own sequence (seeds seed, seed+1, ...)
  bool echo = false;               // the prompt's text comes in front of each choice (Generation::echo())
  std::string grammar;             // GBNF the reply must match, "" if free
  int api_key = -1;                // index of the request's API key (per-key limits), -1 if none
};

// kError: the engine failed the choice (ChoiceFinish::error says how); a reply that has not
// started is an HTTP error, a stream ends with its dialect's error event.
enum class FinishKind { kStop, kLength, kToolCalls, kRepetition, kError };

// The HTTP status of a failed choice that says "try again later" (memory ran out), so its
// reply carries Retry-After.
inline constexpr int kRetryLaterStatus = 503;

struct ChoiceFinish {
  FinishKind reason = FinishKind::kStop;
  std::optional<GenerationError> error;    // kError: status 500 or 503 (kRetryLaterStatus), message, code
  std::optional<std::string> stop_string;  // the request's stop string it ended at, if any
  GenerateStats stats;       // tokens of prompt (cached part too) and reply, timings
};

// What a choice brought since its last update. A parsed reply (Generation::parsed()) has text,
// reasoning and tool-call events (a call's start with its index and name, then pieces of its
// arguments JSON; each dialect mints call ids in its own shape); a plain one has kText only.
struct ChoiceUpdate {
  std::vector<chat::OutputEvent> events;
  std::vector<StepLogprobs> logprobs;  // one per new token, if the request asked
  std::optional<ChoiceFinish> finish;  // set once, on the choice's last update
};

// Prompt tokens once, reply tokens of every choice.
struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0;
  int64_t cached_tokens = 0;  // of the prompt, restored from the prefix cache (the most any choice had)
  int64_t drafted_tokens = 0, accepted_tokens = 0;  // speculative decoding, all choices
};
Usage usage_of(const std::vector<GenerateStats>& choices);

// Requests in flight, overall and per API key.
class Admission {
 public:
  // `capacity`: requests in flight (generating or waiting) before 503; `max_per_key`: 0 for no limit.
  Admission(int capacity, size_t n_keys, int max_per_key)
      : capacity_(capacity), max_per_key_(max_per_key), key_in_flight_(n_keys, 0) {}
  // A token that counts the request until it goes; or 503 / 429.
  std::variant<std::shared_ptr<void>, GenerationError> admit(int key);
  int in_flight() const { return in_flight_.load(); }

 private:
  int capacity_, max_per_key_;
  std::atomic<int> in_flight_{0};
  std::mutex mutex_;
  std::vector<int> key_in_flight_;
};

// One request's choices being generated. Used by one thread at a time (the HTTP worker).
class Generation {
 public:
  ~Generation();  // cancels what still generates (as cancel())
  int choices() const { return static_cast<int>(choices_.size()); }
  bool parsed() const { return parsed_; }
  const std::vector<Token>& prompt() const { return prompt_; }
  // The prompt's text if the request asked for echo, else "".
  const std::string& echo() const { return echo_; }
  // With prompt_logprobs: each prompt token's text as the echo shows it (they join to it).
  const std::vector<std::string>& prompt_pieces() const { return prompt_pieces_; }
  bool finished(int choice) const { return choices_[choice].finished; }

  // Waits up to `wait` for choice `choice`'s next output (the update may be empty); not called
  // again once the choice has finished. Past the server's deadline every choice still
  // generating is cancelled and ends as kLength.
  ChoiceUpdate next(int choice, std::chrono::milliseconds wait);
  // A whole reply (no streaming): every update of choice `choice` to `on_update`, in order,
  // until it finishes; returns how it finished.
  ChoiceFinish read_to_end(int choice, const std::function<void(const ChoiceUpdate&)>& on_update);
  // The client went away: choices still generating end now and count as cancelled.
  void cancel();

 private:
  friend class GenerationService;
  struct Choice {
    std::shared_ptr<OutputChannel> channel;
    uint64_t id = 0;
    std::optional<chat::OutputParser> parser;
    bool called = false;    // a tool call has started
    bool finished = false;
    bool cancelled = false;
  };
  Generation(BatchRunner& runner, Metrics& metrics) : runner_(runner), metrics_(metrics) {}
  void check_deadline();

  std::shared_ptr<void> pin_;  // keeps the model loaded until the reply ends; first, so released last

  BatchRunner& runner_;
  Metrics& metrics_;
  std::vector<Choice> choices_;
  bool parsed_ = false;
  std::vector<Token> prompt_;
  std::string echo_;
  std::vector<std::string> prompt_pieces_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  bool timed_out_ = false;
  std::shared_ptr<void> admitted_;  // holds the request's place until the reply ends
};

class GenerationService {
 public:
  // `timeout_seconds`: a choice still generating after this ends as kLength (0: never).
  // The objects must outlive the service.
  GenerationService(BatchRunner& runner, const Tokenizer& tokenizer, ChatFormat format, Metrics& metrics,
                    Admission& admission, double timeout_seconds);

  std::variant<std::shared_ptr<Generation>, GenerationError> start(GenerationRequest r);
  const Tokenizer& tokenizer() const { return tokenizer_; }
  // `pin` is called by every start(): what it returns lives as long as the Generation (a
  // registry lease, so the model is not unloaded under a streamed reply).
  void set_pin(std::function<std::shared_ptr<void>()> pin) { pin_ = std::move(pin); }

 private:
  std::function<std::shared_ptr<void>()> pin_;
  BatchRunner& runner_;
  const Tokenizer& tokenizer_;
  ChatFormat format_;
  Metrics& metrics_;
  Admission& admission_;
  double timeout_seconds_;
  SamplingVocab sampling_vocab_;  // what finishing a request's sampling settings reads
  std::vector<Token> end_tokens_;  // end-of-generation tokens, which ignore_eos bans
  std::shared_ptr<const TokenTexts> token_texts_;  // every token's bytes (grammars, UTF-8 guard)
  std::shared_ptr<const TokenTexts> control_token_texts_;  // the same, control tokens as their text (tool grammars)
};

}  // namespace mx::server
