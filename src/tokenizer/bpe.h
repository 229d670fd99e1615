// Byte-level BPE (tokenizer.ggml.model "gpt2"), token for token the same as llama.cpp's
// llm_tokenizer_bpe: the text is cut into words by the vocabulary's pre-tokenizer
// regexes; each word's bytes are spelled with GPT-2's byte characters; the adjacent pair
// with the lowest merge rank is merged (leftmost on ties) until no pair has a rank.
// Pieces decode back to raw bytes, so StreamDecoder serves BPE as it serves SPM.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace mx {

class BpeTokenizer final : public Tokenizer {
 public:
  // Fails when the vocabulary's pre-tokenizer regexes do not compile.
  static Expected<std::unique_ptr<Tokenizer>> create(Vocab vocab);

 protected:
  // Ill-formed UTF-8 is first replaced by U+FFFD, one per bad byte, as llama.cpp does
  // (so such bytes do not come back from decode). Unlike llama.cpp, overlong forms,
  // surrogates and code points above U+10FFFF count as ill-formed too.
  void encode_text(std::string_view text, bool after_special, std::vector<Token>& out) const override;

 private:
  // One slot of an open-addressing table keyed by (left symbol, right symbol): the
  // lookup runs for every adjacent pair, and a node-based map spent most of encode's
  // time in cache misses.
  struct Merge {
    uint64_t key = kEmpty;  // left << 32 | right
    int32_t rank = 0;       // position in tokenizer.ggml.merges: lower merges first
    int32_t result = 0;     // symbol of the merged pair
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Scratch;

  BpeTokenizer(Vocab vocab, PreTokenizer pre);
  void build_merges();
  const Merge* find_merge(int32_t left, int32_t right) const;
  void encode_word(std::string_view word, Scratch& scratch, std::vector<Token>& out) const;
  void emit(std::string_view bytes, int32_t symbol, std::vector<Token>& out) const;

  PreTokenizer pre_;
  // Symbols are strings that can take part in merges: a token's id for token texts,
  // vocab size + n for the few merge operands or results that are not tokens.
  std::vector<Merge> merges_;  // [power of two], at most 1/2 full
  int merge_shift_ = 64;       // hash = key * golden >> shift
  std::array<int32_t, 256> byte_symbol_{};      // symbol of each byte's GPT-2 character
  std::array<Token, 256> char_token_{};         // token whose text is this single byte
};

}  // namespace mx
