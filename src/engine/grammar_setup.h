// A grammar constraint needs each token's bytes and the end-of-generation tokens: the
// tokenizer's side of grammar-constrained sampling.
#pragma once

#include <memory>

#include "sampling/grammar_sampler.h"
#include "tokenizer/tokenizer.h"

namespace mx {

GrammarConstraint grammar_constraint(std::shared_ptr<const Grammar> grammar, const Tokenizer& tokenizer);

}  // namespace mx
