// The vocabulary of a model: token texts, scores, types, special ids and flags, as
// stored under tokenizer.ggml.* in a GGUF file. Immutable once built; shared by all
// tokenizer implementations (SPM, byte-level BPE, WordPiece).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/expected.h"
#include "core/token.h"

namespace mx {

inline constexpr Token kNoToken = -1;

namespace gguf {
class File;
}

// Numbered as tokenizer.ggml.token_type stores them.
enum class TokenType : int32_t {
  kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6,
};

enum class VocabKind { kSpm, kBpe, kWpm };  // tokenizer.ggml.model "llama" / "gpt2" / "bert"

struct TokenInfo {
  std::string text;
  float score = 0;
  TokenType type = TokenType::kNormal;
  // Whitespace next to this token is swallowed when it is split out of text
  // (llama.cpp sets these for Phi-3's special tokens).
  bool lstrip = false;
  bool rstrip = false;
};

// Everything a vocabulary is built from. from_gguf fills it from metadata; tests fill
// it by hand. Empty scores/types mean 0 / normal for every token; unset options take
// the defaults of the vocabulary kind.
struct VocabSpec {
  std::string model = "llama";             // tokenizer.ggml.model
  std::string pre;                         // tokenizer.ggml.pre (BPE pre-tokenizer name)
  std::string name;                        // general.name (a few vocabularies need quirks)
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  std::vector<std::string> merges;         // BPE: "left right" in rank order
  std::optional<int64_t> bos, eos, unk, pad, sep;  // -1 or 0xFFFFFFFF mean "none"
  std::optional<bool> add_bos, add_eos, add_sep, add_space_prefix;
  std::optional<bool> lowercase, strip_accents;  // WordPiece normalizer (default: true)
};

class Vocab {
 public:
  static Expected<Vocab> from_gguf(const gguf::File& file);
  static Expected<Vocab> create(VocabSpec spec);

  VocabKind kind() const { return kind_; }
  const std::string& model() const { return model_; }
  const std::string& pre() const { return pre_; }
  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }
  bool contains(Token id) const { return id >= 0 && id < size(); }

  // Accessors by id expect contains(id).
  const TokenInfo& info(Token id) const {
    MX_DCHECK(contains(id));
    return tokens_[id];
  }
  const std::string& text(Token id) const { return info(id).text; }
  float score(Token id) const { return info(id).score; }
  TokenType type(Token id) const { return info(id).type; }
  bool is_byte(Token id) const { return type(id) == TokenType::kByte; }
  // Control and unknown tokens: hidden when decoding unless asked for.
  bool is_control(Token id) const;
  // End of generation: EOS and the end-of-turn tokens chat models use.
  bool is_eog(Token id) const;

  Token find(std::string_view text) const;  // kNoToken when absent
  // The token that spells one byte: "<0xAB>" (SPM; else the byte itself), or the byte's
  // GPT-2 character (BPE). kNoToken when absent.
  Token byte_token(uint8_t byte) const { return byte_to_token_[byte]; }
  uint8_t token_byte(Token id) const { return token_to_byte_[id]; }     // only for byte tokens

  Token bos() const { return bos_; }
  Token eos() const { return eos_; }
  Token unk() const { return unk_; }
  Token pad() const { return pad_; }
  Token sep() const { return sep_; }  // BERT's [SEP], appended after the text
  bool add_sep() const { return add_sep_; }
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  bool add_space_prefix() const { return add_space_prefix_; }
  // BPE switches that come with tokenizer.ggml.pre (see pre_tokenizer.h): a word that
  // is itself a token skips the merges; decode may clean spaces before punctuation.
  bool ignore_merges() const { return ignore_merges_; }
  bool clean_spaces() const { return clean_spaces_; }
  // WordPiece normalisation: lowercase the text; drop accents (NFD, first code point).
  bool lowercase() const { return lowercase_; }
  bool strip_accents() const { return strip_accents_; }
  size_t max_token_length() const { return max_token_length_; }
  const std::vector<std::string>& merges() const { return merges_; }

  // Control, user-defined and unknown tokens: the ones split out of text before
  // tokenizing, longest text first (ties by id).
  const std::vector<Token>& special_tokens() const { return special_tokens_; }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  VocabKind kind_ = VocabKind::kSpm;
  std::string model_, pre_;
  std::vector<TokenInfo> tokens_;
  std::unordered_map<std::string, Token, StringHash, std::equal_to<>> text_to_id_;
  std::array<Token, 256> byte_to_token_{};
  std::vector<uint8_t> token_to_byte_;  // [size()], meaningful for byte tokens
  std::vector<uint8_t> eog_;            // [size()], 1 for end-of-generation tokens
  std::vector<Token> special_tokens_;
  std::vector<std::string> merges_;
  Token bos_ = kNoToken, eos_ = kNoToken, unk_ = kNoToken, pad_ = kNoToken, sep_ = kNoToken;
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false;
  bool ignore_merges_ = false, clean_spaces_ = false;
  bool add_sep_ = false, lowercase_ = false, strip_accents_ = false;
  size_t max_token_length_ = 0;
};

}  // namespace mx
