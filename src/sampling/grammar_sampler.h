// Grammar-constrained sampling: a token is possible only if its text keeps the output
// inside the grammar; end-of-text tokens only once the output is a whole sentence of it.
// A lazy grammar (with triggers, lazy_grammar.h) constrains nothing until the output
// reaches a trigger word; from there on it constrains the rest, the trigger included.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sampling/candidates.h"
#include "sampling/grammar_matcher.h"
#include "sampling/lazy_grammar.h"
#include "sampling/token_texts.h"

namespace mx {

struct GrammarConstraint {
  std::shared_ptr<const Grammar> grammar;
  std::shared_ptr<const TokenTexts> token_texts;  // bytes of each token
  std::vector<Token> end_tokens;                                // end of generation (EOS, EOT)
  // Non-empty: the grammar is lazy and starts at the first of these words in the output.
  // A word the grammar cannot begin with never fires (the output then stays free).
  std::vector<LazyTrigger> triggers = {};
};

class GrammarSampler final : public Sampler {
 public:
  explicit GrammarSampler(GrammarConstraint constraint);
  std::string_view name() const override { return "grammar"; }
  // Sets the logit of every token the grammar does not allow to -inf. While a lazy grammar
  // waits, only tokens that would complete a trigger with text the grammar rejects after
  // it (`<tool_call>x` when the call must go on with `{`) are refused.
  void apply(Candidates& c) override;
  void accept(Token t) override;
  // Text already in the output that came from elsewhere (a prefix the caller wrote); it
  // can fire a trigger like generated text.
  void accept_bytes(std::string_view bytes);
  bool allows(Token t) const;
  // The output may end here: a whole sentence of the grammar, or a lazy grammar that has
  // not started.
  bool is_complete() const { return waiting_ ? true : matcher_.is_complete(); }
  // A lazy grammar that no trigger has started yet.
  bool waiting() const { return waiting_.has_value(); }
  // What to emit when the grammar allows no token at all: an end token, or -1.
  Token dead_end() const { return c_.end_tokens.empty() ? -1 : c_.end_tokens.front(); }

 private:
  bool is_end(Token t) const;
  bool is_trigger_token(Token t) const;
  // While waiting: whether `text` next is free text, or starts the grammar acceptably.
  bool free_text_allows(std::string_view text) const;

  GrammarConstraint c_;
  GrammarMatcher matcher_;
  std::optional<TriggerDetector> waiting_;  // engaged until a trigger fires
  std::vector<Token> trigger_tokens_;       // sorted
};

}  // namespace mx
