// Pre-tokenizers of byte-level BPE vocabularies: the regexes that cut text into words
// before merges run, chosen by tokenizer.ggml.pre, and the few per-vocabulary switches
// that travel with that name in llama.cpp (ignore_merges, clean_spaces, add_bos).
//
// The regexes are llama.cpp's strings (themselves the tokenizer.json patterns, rewritten
// where std::regex could not take them) and are applied the same way: each regex splits
// every piece left by the previous one; text between matches stays a piece of its own.
// They run on PCRE2 with UTF + UCP, so \p{..}, \s and literal classes have their full
// Unicode meaning. llama.cpp instead matches most of them on a "collapsed" text (one
// byte per code point) and differs from the patterns as written in corner cases that
// the test vectors do not reach; we follow the patterns (which is what Hugging Face
// does): '~' is in \p{S}, non-ASCII spaces inside literal classes (U+3000 in
// DeepSeek's) match them, \p{Lu}/\p{Ll} are told apart, U+180E counts as \s.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/expected.h"

struct pcre2_real_code_8;  // pcre2.h stays out of the header

namespace mx {

struct PreTokenizerSpec {
  std::span<const std::string_view> names;  // tokenizer.ggml.pre values that select it
  std::span<const std::string_view> regexes;
  bool ignore_merges = false;  // a word that is a token is emitted whole (Llama 3)
  bool clean_spaces = true;    // decode may drop spaces before punctuation
  bool add_bos = false;        // default of tokenizer.ggml.add_bos_token
  bool supported = true;       // false: llama.cpp needs custom code we do not have
};

// The row for a tokenizer.ggml.pre value; "" is "default" (llama.cpp warns and uses it).
// nullptr for names llama.cpp does not know either (it refuses those vocabularies).
const PreTokenizerSpec* find_pre_tokenizer(std::string_view pre);

// A word of the input: bytes [begin, end).
struct Span {
  uint32_t begin = 0, end = 0;
};

// Compiled regexes, immutable after creation: split() is safe from many threads (each
// call has its own match data).
class PreTokenizer {
 public:
  static Expected<PreTokenizer> compile(std::span<const std::string_view> regexes);

  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;
  ~PreTokenizer();

  // Cuts valid UTF-8 `text` into words that cover it in order (no empty words).
  // `text` must be shorter than 4 GiB (spans are 32-bit; BpeTokenizer cuts at 1 GiB).
  std::vector<Span> split(std::string_view text) const;

 private:
  struct CodeDeleter {
    void operator()(pcre2_real_code_8* code) const;
  };
  using Code = std::unique_ptr<pcre2_real_code_8, CodeDeleter>;

  PreTokenizer() = default;
  std::vector<Code> codes_;
};

}  // namespace mx
