#include "engine/dry_breakers.h"

namespace mx {

std::vector<Token> dry_breaker_tokens(const Tokenizer& tokenizer, std::span<const std::string> breakers) {
  std::vector<Token> out;
  if (breakers.empty()) return out;
  const int32_t n = tokenizer.vocab().size();
  for (Token id = 0; id < n; ++id) {
    const std::string& piece = tokenizer.token_to_piece(id);
    for (const std::string& b : breakers)
      if (!b.empty() && piece.find(b) != std::string::npos) {
        out.push_back(id);
        break;
      }
  }
  return out;
}

}  // namespace mx
