// The sampling side of one generation, apart from running the model: chooses each next
// token from the logits and decides when generation ends (an end token, the length limit,
// the loop guard, the caller). generate() drives one; the scheduler drives many at once.
#pragma once

#include <optional>
#include <span>

#include "engine/generate.h"

namespace mx {

class Generation {
 public:
  // `prompt`: the tokens the output continues (penalties and DRY look at them too).
  Generation(const GenerateOptions& options, int32_t n_vocab, std::span<const Token> prompt);

  // Picks the token that follows `logits`, reporting it through the callbacks. Returns the
  // token to run through the model next, or nullopt when generation is over (the stats
  // say why).
  std::optional<Token> next(std::span<const float> logits, const GenerateCallbacks& callbacks);
  // Speculative decoding: `logits` holds a row for each token of the step, the token run
  // and then each draft. Picks a token from each row in turn as next() does, going on while
  // the pick is the draft that row's successor was run with; returns the first other pick
  // (or the pick after the last draft), or nullopt as next() does. Each pick is drawn from
  // the target's own distribution, so drafts change how many tokens a step yields, never
  // which: with a fixed seed, the output is the output without drafts. Sets `accepted` to
  // the number of drafts taken.
  std::optional<Token> next_after_drafts(std::span<const float> logits, std::span<const Token> drafts,
                                         const GenerateCallbacks& callbacks, size_t& accepted);
  // Ends the generation from outside (context full, cancelled).
  void finish(FinishReason reason) { stats_.finish = reason; }

  GenerateStats& stats() { return stats_; }
  const GenerateStats& stats() const { return stats_; }

 private:
  // The loop guard's verdict on the newest token: true if generation must stop.
  bool guard(Token t);

  const GenerateOptions& options_;
  SamplerChain sampler_;
  LoopDetector loops_;
  GenerateStats stats_;
};

}  // namespace mx
