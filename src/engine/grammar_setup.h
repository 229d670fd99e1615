// The tokenizer's side of constrained sampling: each token's bytes (for a grammar and for
// the UTF-8 guard) and the end-of-generation tokens.
#pragma once

#include <memory>

#include "sampling/grammar_sampler.h"
#include "tokenizer/tokenizer.h"

namespace mx {

enum class ControlTokens {
  kNotText,  // "" : chat markers are not text a grammar or the UTF-8 guard could match
  kAsText,   // their text ("<|python_tag|>"), BOS aside: grammars of tool calls, whose markers they are
};

// Every token's bytes; "" for end-of-generation tokens, which are not text, and by default for
// control tokens. Build it once per tokenizer and share it: sorting a large vocabulary takes
// milliseconds.
std::shared_ptr<const TokenTexts> token_texts(const Tokenizer& tokenizer, ControlTokens control = ControlTokens::kNotText);

GrammarConstraint grammar_constraint(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTexts> texts,
                                     const Tokenizer& tokenizer);

}  // namespace mx
