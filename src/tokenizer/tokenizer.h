// Text <-> token ids. One interface, one implementation per tokenizer.ggml.model:
// SPM ("llama"), byte-level BPE ("gpt2"), WordPiece ("bert"). What all of them share
// lives here: splitting special tokens out of the text, BOS/EOS, and decoding through a
// table of token pieces. A const Tokenizer is safe to use from many threads: all scratch state
// of an encode or decode lives in that call.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "tokenizer/vocab.h"

namespace mx {

namespace gguf {
class File;
}

// A piece of the input: a special token cut out of it, or raw text in [begin, end).
struct Fragment {
  Token token = kNoToken;  // kNoToken for raw text
  size_t begin = 0, end = 0;
};

// Bytes [begin, end) of a text.
struct TextRange {
  size_t begin = 0, end = 0;
};

struct DecodeOptions {
  bool render_special = false;  // control/unknown tokens appear as their text ("<s>")
  bool remove_special = false;  // drop a leading BOS and a trailing EOS the vocab adds
  // The ids begin at the start of a text, so the space encode() prefixed to it is
  // removed from the first piece. A leading BOS turns this off (llama.cpp keeps
  // " Once" after <s>); set false when decoding a continuation.
  bool strip_space_prefix = true;
  // Drop the spaces byte-level BPE tokenizers put before punctuation and contractions
  // (" ," -> ","), as llama.cpp's llama_detokenize does for vocabularies that ask
  // (Vocab::clean_spaces). Off by default so decode equals the streamed pieces.
  bool clean_spaces = false;
};

class Tokenizer {
 public:
  // Picks the implementation for vocab.kind().
  static Expected<std::unique_ptr<Tokenizer>> create(Vocab vocab);
  static Expected<std::unique_ptr<Tokenizer>> from_gguf(const gguf::File& file);

  virtual ~Tokenizer() = default;
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  const Vocab& vocab() const { return vocab_; }

  // add_special: BOS / EOS / SEP as the vocabulary asks (tokenizer.ggml.add_bos_token ...).
  // parse_special: control tokens written in the text ("<s>") become their ids;
  // otherwise they are ordinary text. User-defined tokens are always split out.
  std::vector<Token> encode(std::string_view text, bool add_special, bool parse_special) const;
  // Parses control tokens except inside `literal` (sorted, disjoint byte ranges): a chat
  // prompt's template text may write <|im_start|>, the users' messages inside it may not.
  std::vector<Token> encode(std::string_view text, bool add_special,
                            std::span<const TextRange> literal) const;

  // The bytes a token stands for (possibly part of a UTF-8 character). Control and
  // unknown tokens are empty unless render_special; ids outside the vocabulary too.
  const std::string& token_to_piece(Token id, bool render_special = false) const;

  // Concatenated pieces: raw bytes, not necessarily valid UTF-8 (see StreamDecoder).
  std::string decode(std::span<const Token> ids, const DecodeOptions& options = {}) const;

  // The split encode() starts from: special tokens cut out, longest text first.
  std::vector<Fragment> split_special(std::string_view text, bool parse_special,
                                      std::span<const TextRange> literal = {}) const;

 protected:
  // What a normal token's text decodes to (SPM: '▁' -> ' '; byte-level BPE: its bytes).
  // A plain function, not a virtual, because the base constructor needs it.
  using NormalPiece = std::string (*)(const Vocab& vocab, Token id);
  Tokenizer(Vocab vocab, NormalPiece normal_piece);

  // Appends the ids of raw text that contains no special token. `after_special` is
  // true at the start of the input and right after a special token.
  virtual void encode_text(std::string_view text, bool after_special,
                           std::vector<Token>& out) const = 0;

 private:
  std::vector<Token> encode_fragments(std::string_view text, bool add_special,
                                      const std::vector<Fragment>& fragments) const;

  Vocab vocab_;
  std::vector<std::string> pieces_;  // [vocab size], control tokens rendered
};

}  // namespace mx
