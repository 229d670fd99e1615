// Streaming detokenizer: token ids in, well-formed UTF-8 out, one chunk per token.
// A character whose bytes arrive in several byte-fallback tokens is held back until it
// is complete, so no chunk ever ends in half a character; bytes that can never become
// valid are replaced with U+FFFD right away. Works on token pieces' bytes, so it serves
// every tokenizer. One decoder per sequence; it keeps a reference to the tokenizer.
#pragma once

#include <string>

#include "tokenizer/tokenizer.h"
#include "core/utf8.h"

namespace mx {

struct StreamOptions {
  bool render_special = false;
  // The first pushed token starts the text (it came right after BOS, or there is no
  // BOS): drop the space the encoder prefixed, as Tokenizer::decode does. Leave false
  // when streaming a continuation of a prompt.
  bool strip_space_prefix = false;
  // Generated text cut off by a limit (length, cancel): flush() drops an unfinished last
  // character instead of showing it as U+FFFD. (The sampler never opens a character it
  // cannot finish: sampling/utf8_guard.h.)
  bool drop_unfinished_tail = false;
};

class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, StreamOptions options = {})
      : tokenizer_(&tokenizer), options_(options) {}

  // The text that is complete now; may be empty while a character is unfinished.
  std::string push(Token id);
  // At the end of the stream: what is still held, an unfinished character as U+FFFD
  // (or nothing, with drop_unfinished_tail).
  std::string flush();
  // Ready for a new stream.
  void reset();

 private:
  const Tokenizer* tokenizer_;
  StreamOptions options_;
  utf8::Stream bytes_;
  bool first_ = true;
};

}  // namespace mx
