// Speculative decoding's proposer: guesses the tokens that follow, so one batched forward
// step of the target model can check several of them at once. Drafts are deterministic (a
// draft model's most likely token, or an n-gram's continuation); Generation accepts a drafted
// token when the target's sampler picks that same token (see Generation::next_after_drafts).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "core/token.h"

namespace mx {

struct SpeculationParams {
  int draft_max = 16;     // tokens proposed per step at most
  int draft_min = 0;      // fewer than this: the step decodes one token without drafts
  float p_min = 0.75f;    // a draft model stops drafting below this probability of its choice
  int ngram_max = 3;      // n-gram lookup tries the last ngram_max tokens, then shorter ones
  int ngram_min = 2;
};

// Keeps the tokens of the target's sequence (what its cache holds) and proposes what follows.
class Drafter {
 public:
  explicit Drafter(SpeculationParams params) : params_(params), limit_(params.draft_max) {}
  virtual ~Drafter() = default;

  const SpeculationParams& params() const { return params_; }

  // A generation starts: the target's cache holds the first `cached` tokens of what this
  // drafter saw before (0 after a reset), and `prompt` follows them.
  void begin(int64_t cached, std::span<const Token> prompt);
  // Up to max_tokens tokens to follow the sequence and `next` (the token about to be run);
  // none when the drafter has no useful guess (or fewer than draft_min).
  //
  // Drafts that miss cost time (a step checking k of them costs more than one without), so
  // the drafter adapts: after a step that took every draft it may propose twice as many
  // (up to draft_max), after a miss no more than were taken plus one, and after steps that
  // took none it rests for 1, 3, 7, then 15 steps before guessing again.
  std::vector<Token> propose(Token next, int max_tokens);
  // The target ran `next` and accepted `accepted` of the last proposal: its cache now holds them.
  void advance(Token next, std::span<const Token> accepted);

  const std::vector<Token>& sequence() const { return sequence_; }

 protected:
  // `context`: the target's sequence followed by the next token; appends the guesses to `out`.
  virtual void draft(std::span<const Token> context, int max_tokens, std::vector<Token>& out) = 0;

 private:
  SpeculationParams params_;
  std::vector<Token> sequence_;
  int limit_;          // tokens the next proposal may have
  size_t proposed_ = 0;  // in the last proposal
  int misses_ = 0;     // steps in a row that took no draft
  int resting_ = 0;    // steps left without guessing
};

// Makes the drafter of one sequence slot: a runner calls it once per slot it speculates in,
// with its execution context (a draft model shares its thread pool) and a slot's context size.
class ExecContext;
using DrafterFactory = std::function<std::unique_ptr<Drafter>(ExecContext& ctx, int64_t n_ctx)>;

}  // namespace mx
