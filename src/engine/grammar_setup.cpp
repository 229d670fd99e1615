#include "engine/grammar_setup.h"

namespace mx {

GrammarConstraint grammar_constraint(std::shared_ptr<const Grammar> grammar, const Tokenizer& tokenizer) {
  const Vocab& vocab = tokenizer.vocab();
  std::vector<std::string> texts(static_cast<size_t>(vocab.size()));
  std::vector<Token> ends;
  for (Token id = 0; id < vocab.size(); ++id) {
    if (vocab.is_eog(id)) {
      ends.push_back(id);
      continue;
    }
    // Control tokens (BOS, chat markers) are not text the grammar could match.
    if (vocab.is_control(id)) continue;
    texts[static_cast<size_t>(id)] = tokenizer.token_to_piece(id);
  }
  return {std::move(grammar), std::make_shared<const TokenTexts>(std::move(texts)), std::move(ends)};
}

}  // namespace mx
