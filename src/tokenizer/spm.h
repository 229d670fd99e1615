// SentencePiece-style BPE over a scored vocabulary (tokenizer.ggml.model "llama"),
// token for token the same as llama.cpp's llm_tokenizer_spm.
#pragma once

#include <string>
#include <unordered_set>

#include "tokenizer/tokenizer.h"

namespace mx {

class SpmTokenizer final : public Tokenizer {
 public:
  explicit SpmTokenizer(Vocab vocab);

 protected:
  // Spaces become '▁' (one is prefixed after a special token or at the start, when
  // the vocabulary asks); the text is split into UTF-8 characters; the adjacent pair
  // whose concatenation is the highest-scored token is merged (leftmost on ties) until
  // no pair is a token; leftovers fall back to <0xXX> byte tokens, else UNK.
  void encode_text(std::string_view text, bool after_special, std::vector<Token>& out) const override;

 private:
  // Characters that some token holds right before a '▁'. Where the text has '▁' after any
  // other character, no token can span that point, so the words on either side are merged
  // separately: same result, but small merge queues instead of one the size of the text.
  std::unordered_set<std::string> joins_space_;
};

}  // namespace mx
