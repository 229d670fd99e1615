// WordPiece (tokenizer.ggml.model "bert"), token for token the same as llama.cpp's
// llm_tokenizer_wpm: BERT's normalisation (lowercase, accents dropped, control
// characters removed), words split at whitespace and around every punctuation mark,
// ASCII symbol and CJK ideograph, then each word "▁word" matched greedily longest
// first; a word with a part no token covers becomes [UNK].
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "tokenizer/tokenizer.h"

struct pcre2_real_code_8;

namespace mx {

class WpmTokenizer final : public Tokenizer {
 public:
  // Fails only if PCRE2 cannot compile the character-class pattern.
  static Expected<std::unique_ptr<Tokenizer>> create(Vocab vocab);

  // The normalised words encode() looks up (without the '▁' it prefixes).
  std::vector<std::string> words(std::string_view text) const;

 protected:
  void encode_text(std::string_view text, bool after_special, std::vector<Token>& out) const override;

 private:
  struct CodeDeleter {
    void operator()(pcre2_real_code_8* code) const;
  };
  WpmTokenizer(Vocab vocab, std::unique_ptr<pcre2_real_code_8, CodeDeleter> classes);

  // (\s)|(\p{C})|(\p{P})|(\p{S})|(\p{M}), anchored: which class a character is in.
  std::unique_ptr<pcre2_real_code_8, CodeDeleter> classes_;
};

}  // namespace mx
