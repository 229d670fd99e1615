// `moxing run --chat`: a conversation in the model's own chat template. Each turn renders
// the whole conversation, keeps the part of the KV cache whose tokens did not change (the
// earlier turns) and runs only the new tokens.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/chat_template_file.h"
#include "cli/reply_stream.h"
#include "cli/run_options.h"
#include "core/log.h"
#include "engine/chat_format.h"

namespace mx::cli {
namespace {

class ChatSession {
 public:
  ChatSession(const RunOptions& o, GenerateOptions generate, const LoadedModel& loaded, const ChatFormat& format,
              const ChatRunContext& run)
      : options_(o),
        generate_(std::move(generate)),
        loaded_(loaded),
        format_(format),
        ctx_(run.ctx),
        drafter_(run.drafter),
        cache_(loaded.model->config, run.n_ctx, 1, 0, 0, run.cache_types) {
    reset();
  }

  void reset() {
    messages_ = nlohmann::ordered_json::array();
    if (!options_.system_prompt.empty())
      messages_.push_back({{"role", "system"}, {"content", options_.system_prompt}});
    cached_.clear();
    cache_.clear(0);
  }

  // One user message in, the reply streamed to stdout. Errors leave the conversation as it was.
  Status turn(const std::string& user_text) {
    messages_.push_back({{"role", "user"}, {"content", user_text}});
    auto reply = reply_to_conversation();
    if (!reply) {
      messages_.erase(messages_.end() - 1);
      return reply.error();
    }
    messages_.push_back({{"role", "assistant"}, {"content", *reply}});
    return {};
  }

 private:
  Expected<std::string> reply_to_conversation() {
    ChatFormat::Prompt prompt;
    MX_TRY_ASSIGN(prompt, format_.render_conversation(messages_, /*add_generation_prompt=*/true));
    if (options_.verbose_prompt) MX_LOG_INFO("prompt:\n{}", prompt.text);
    const std::vector<Token> tokens = format_.tokenize(*loaded_.tokenizer, prompt);
    if (static_cast<int64_t>(tokens.size()) >= cache_.n_ctx())
      return make_error("the conversation has {} tokens but the context holds {}; /reset starts a "
                        "new one, -c makes the context larger",
                        tokens.size(), cache_.n_ctx());

    // Keep what is unchanged; at least one token must run to produce logits.
    size_t keep = 0;
    while (keep < cached_.size() && keep < tokens.size() && cached_[keep] == tokens[keep]) ++keep;
    keep = std::min(keep, tokens.size() - 1);
    cache_.set_length(0, static_cast<int64_t>(keep));
    MX_LOG_DEBUG("chat turn: {} prompt tokens, {} reused from the cache", tokens.size(), keep);

    const ReplyOptions reply_options{
        .generate = generate_,
        .stop_strings = options_.stop_strings,
        .starts_text = true,
        .drafter = drafter_};
    auto reply = stream_reply(loaded_, ctx_, cache_, std::span(tokens).subspan(keep), reply_options);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (!reply) {
      cached_.clear();
      cache_.clear(0);
      return reply.error();
    }
    log_generation_stats(reply->stats);
    cached_ = tokens;
    cached_.insert(cached_.end(), reply->tokens.begin(), reply->tokens.end());
    cached_.resize(static_cast<size_t>(cache_.length(0)));  // the last sampled token never ran
    return std::move(reply->text);
  }

  const RunOptions& options_;
  GenerateOptions generate_;
  const LoadedModel& loaded_;
  const ChatFormat& format_;
  ExecContext& ctx_;
  Drafter* drafter_;
  KvCache cache_;
  nlohmann::ordered_json messages_;
  std::vector<Token> cached_;  // the tokens whose keys and values are in the cache, in order
};

// A line of input; a line ending in '\' continues on the next. False at end of input.
bool read_message(std::string& out) {
  out.clear();
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\\') {
      line.back() = '\n';
      out += line;
      continue;
    }
    out += line;
    return true;
  }
  return !out.empty();
}

}  // namespace

int run_chat(const RunOptions& o, const LoadedModel& loaded, const ChatRunContext& run) {
  auto format = load_chat_format(loaded, o.chat_template_file);
  if (!format) {
    MX_LOG_ERROR("{}", format.error().message);
    return o.chat_template_file.empty() ? kExitBadModel : kExitBadInput;
  }
  if (format->is_fallback())
    MX_LOG_WARN("{} has no chat template; using ChatML (--chat-template-file FILE to choose one)", o.path);
  auto generate = make_generate_options(o.sampling, *loaded.tokenizer, o.n_predict);
  if (!generate) {
    MX_LOG_ERROR("{}", generate.error().message);
    return kExitUsage;
  }
  ChatSession session(o, *generate, loaded, *format, run);

  if (!o.prompt.empty()) {  // one turn
    if (auto st = session.turn(o.prompt); !st) {
      MX_LOG_ERROR("{}", st.error().message);
      return kExitBadInput;
    }
    return kExitOk;
  }

  const bool interactive = isatty(STDIN_FILENO) != 0;
  if (interactive)
    std::fputs("Chat: type a message and press Enter ('\\' at the end of a line continues it); "
               "/reset starts over, /exit quits.\n", stderr);
  std::string message;
  for (;;) {
    if (interactive) {
      std::fputs("> ", stdout);
      std::fflush(stdout);
    }
    if (!read_message(message) || message == "/exit") break;
    if (message == "/reset") {
      session.reset();
      MX_LOG_INFO("conversation reset");
      continue;
    }
    if (message.empty()) continue;
    if (auto st = session.turn(message); !st) MX_LOG_ERROR("{}", st.error().message);
  }
  return kExitOk;
}

}  // namespace mx::cli
