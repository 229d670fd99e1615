// The tokenizer's side of constrained sampling: each token's bytes (for a grammar and for
// the UTF-8 guard) and the end-of-generation tokens.
#pragma once

#include <memory>

#include "sampling/grammar_sampler.h"
#include "tokenizer/tokenizer.h"

namespace mx {

// Every token's bytes; "" for end-of-generation and control tokens, which are not text.
// Build it once per tokenizer and share it: sorting a large vocabulary takes milliseconds.
std::shared_ptr<const TokenTexts> token_texts(const Tokenizer& tokenizer);

GrammarConstraint grammar_constraint(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTexts> texts,
                                     const Tokenizer& tokenizer);

}  // namespace mx
