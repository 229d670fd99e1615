// Grammar-constrained sampling: a token is possible only if its text keeps the output
// inside the grammar; end-of-text tokens only once the output is a whole sentence of it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sampling/candidates.h"
#include "sampling/grammar_matcher.h"
#include "sampling/token_texts.h"

namespace mx {

struct GrammarConstraint {
  std::shared_ptr<const Grammar> grammar;
  std::shared_ptr<const TokenTexts> token_texts;  // bytes of each token
  std::vector<Token> end_tokens;                                // end of generation (EOS, EOT)
};

class GrammarSampler final : public Sampler {
 public:
  explicit GrammarSampler(GrammarConstraint constraint);
  std::string_view name() const override { return "grammar"; }
  // Sets the logit of every token the grammar does not allow to -inf.
  void apply(Candidates& c) override;
  void accept(Token t) override;
  // Text already in the output that came from elsewhere (a prefix the caller wrote).
  void accept_bytes(std::string_view bytes) { matcher_.accept(bytes); }
  bool allows(Token t) const;
  bool is_complete() const { return matcher_.is_complete(); }
  // What to emit when the grammar allows no token at all: an end token, or -1.
  Token dead_end() const { return c_.end_tokens.empty() ? -1 : c_.end_tokens.front(); }

 private:
  bool is_end(Token t) const;

  GrammarConstraint c_;
  GrammarMatcher matcher_;
};

}  // namespace mx
