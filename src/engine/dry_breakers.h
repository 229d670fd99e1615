// DRY's sequence breakers are strings ("\n", ":", ...); the sampler works on token ids, so
// every vocabulary token whose text contains one of them counts as a breaker.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace mx {

std::vector<Token> dry_breaker_tokens(const Tokenizer& tokenizer, std::span<const std::string> breakers);

}  // namespace mx
