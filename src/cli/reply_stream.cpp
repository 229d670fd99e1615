#include "cli/reply_stream.h"

#include <cstdio>

#include "core/format.h"
#include "core/log.h"
#include "engine/stop_sequences.h"
#include "tokenizer/stream_decoder.h"

namespace mx::cli {
namespace {
void print(const std::string& text) {
  if (text.empty()) return;
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}
}  // namespace

Expected<Reply> stream_reply(const LoadedModel& loaded, ExecContext& ctx, KvCache& cache,
                             std::span<const Token> new_tokens, const ReplyOptions& options) {
  const Tokenizer& tok = *loaded.tokenizer;
  StreamDecoder decoder(tok, {.strip_space_prefix = options.starts_text, .drop_unfinished_tail = true});
  StopMatcher stops(options.stop_strings);
  Reply reply;
  auto emit = [&](const std::string& text) {
    print(text);
    reply.text += text;
  };
  GenerateCallbacks cb{
      .is_end = [&](Token t) { return !options.ignore_eos && tok.vocab().is_eog(t); },
      .on_token =
          [&](Token t) {
            reply.tokens.push_back(t);
            emit(stops.push(decoder.push(t)));
            return !stops.stopped();
          },
      .on_logprobs = nullptr,
      .on_prompt_logprobs = nullptr,
  };
  auto stats = generate(*loaded.model, ctx, cache, new_tokens, options.generate, cb, options.drafter);
  if (!stats) return stats.error();
  emit(stops.push(decoder.flush()));
  emit(stops.flush());
  reply.stats = *stats;
  return reply;
}

void log_generation_stats(const GenerateStats& s) {
  if (s.loop)
    MX_LOG_WARN("the output repeated a cycle of {} tokens {} times (at token {}){}", s.loop->period,
                s.loop->repeats, s.loop_at,
                s.penalized ? "; repetition penalties switched on" : "");
  MX_LOG_INFO("prompt: {} tokens in {} ({:.1f} tokens/s)", s.n_prompt, format_duration(s.prompt_seconds),
              s.n_prompt / std::max(s.prompt_seconds, 1e-9));
  MX_LOG_INFO("generation: {} tokens in {} ({:.1f} tokens/s); stopped by {}", s.n_generated,
              format_duration(s.gen_seconds), s.n_generated / std::max(s.gen_seconds, 1e-9),
              finish_reason_name(s.finish));
  if (s.n_drafted > 0)
    MX_LOG_INFO("speculation: {} tokens proposed, {} accepted ({:.1f}%)", s.n_drafted, s.n_accepted,
                100.0 * static_cast<double>(s.n_accepted) / static_cast<double>(s.n_drafted));
}

}  // namespace mx::cli
