// The bytes of every token, plus the tokens in byte order: tokens that share a prefix are
// neighbours, so a grammar can check each shared prefix once for the whole vocabulary
// (a trie walked without building the trie).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sampling/candidates.h"

namespace mx {

struct TokenTexts {
  std::vector<std::string> text;  // by token id; "" for tokens that are never text
  std::vector<Token> sorted;      // ids with non-empty text, in byte order of the text
  std::vector<uint32_t> common;   // length of the prefix sorted[i] shares with sorted[i-1]
  // The sorted texts back to back (read in order, they stream through the cache):
  // sorted[i]'s text is sorted_bytes[sorted_offset[i], sorted_offset[i + 1]).
  std::string sorted_bytes;
  std::vector<uint32_t> sorted_offset;
  size_t longest = 0;             // bytes of the longest text
  // Per token: its text is well-formed UTF-8 up to a last character it may leave open
  // (utf8::is_valid_prefix), what the UTF-8 guard asks of a token after a whole character.
  std::vector<uint8_t> valid_prefix;

  explicit TokenTexts(std::vector<std::string> texts);
  std::string_view sorted_text(size_t i) const {
    return std::string_view(sorted_bytes).substr(sorted_offset[i], sorted_offset[i + 1] - sorted_offset[i]);
  }
};

}  // namespace mx
