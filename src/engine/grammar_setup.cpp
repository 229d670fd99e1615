#include "engine/grammar_setup.h"

namespace mx {

std::shared_ptr<const TokenTexts> token_texts(const Tokenizer& tokenizer, ControlTokens control) {
  const Vocab& vocab = tokenizer.vocab();
  std::vector<std::string> texts(static_cast<size_t>(vocab.size()));
  for (Token id = 0; id < vocab.size(); ++id) {
    if (vocab.is_eog(id)) continue;
    if (!vocab.is_control(id)) texts[static_cast<size_t>(id)] = tokenizer.token_to_piece(id);
    else if (control == ControlTokens::kAsText && id != vocab.bos()) texts[static_cast<size_t>(id)] = tokenizer.token_to_piece(id, true);
  }
  return std::make_shared<const TokenTexts>(std::move(texts));
}

GrammarConstraint grammar_constraint(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTexts> texts,
                                     const Tokenizer& tokenizer) {
  std::vector<Token> ends;
  for (Token id = 0; id < tokenizer.vocab().size(); ++id)
    if (tokenizer.vocab().is_eog(id)) ends.push_back(id);
  return {std::move(grammar), std::move(texts), std::move(ends)};
}

}  // namespace mx
