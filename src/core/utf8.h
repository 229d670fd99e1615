// UTF-8 scanning shared by the tokenizers and the streaming detokenizer.
// Well-formedness follows Unicode Table 3-7 (no overlongs, no surrogates, nothing
// above U+10FFFF); ill-formed input is replaced one "maximal subpart" at a time, the
// practice Unicode recommends and Python's errors="replace" follows.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mx::utf8 {

inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

enum class Status {
  kComplete,    // `length` bytes form one well-formed character
  kIncomplete,  // all `length` bytes (the rest of the input) are a valid prefix
  kInvalid,     // `length` bytes (>= 1) are a maximal ill-formed subpart
};

struct Scan {
  Status status;
  size_t length;
};

// Classifies the character starting at s[0]. `s` must not be empty.
Scan scan(std::string_view s);

// Length of the well-formed character at s[pos], or 1 for a byte that does not start one.
// This is how the SPM tokenizer splits text: a bad byte is its own symbol.
size_t char_length(std::string_view s, size_t pos);

bool is_valid(std::string_view s);
// Well-formed except that it may stop inside its last character (more bytes could finish it).
bool is_valid_prefix(std::string_view s);

// Copy of `s` with each maximal ill-formed subpart replaced by U+FFFD.
std::string sanitize(std::string_view s);

// Turns a stream of bytes into well-formed UTF-8 chunks. A character split across
// pushes is held back until it completes; bytes that can no longer become valid are
// replaced at once; flush() replaces an unfinished tail.
class Stream {
 public:
  std::string push(std::string_view bytes);
  std::string flush();
  size_t pending_size() const { return pending_.size(); }
  std::string_view pending() const { return pending_; }  // the unfinished character

 private:
  std::string pending_;  // at most 3 bytes: a valid prefix of one character
};

}  // namespace mx::utf8
