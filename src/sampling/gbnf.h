// GBNF, llama.cpp's grammar notation: `name ::= alternatives` rules of quoted literals,
// character classes ([a-z], [^"\\]), `.` (any character), rule references, grouping, and
// the repetitions * + ? {m} {m,} {m,n}; `#` comments. Parsing compiles repetitions into
// helper rules, so a grammar is only sequences and alternatives of characters and rules.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"

namespace mx {

// One element of a rule's body. A rule is a list of alternatives, each a sequence of
// elements ending in kEnd.
struct GrammarElement {
  enum class Kind : uint8_t {
    kEnd,      // end of an alternative
    kRule,     // reference to rule `value`
    kChars,    // a character class: ranges [lo, hi] in `ranges` (negated if `negated`)
  };
  Kind kind = Kind::kEnd;
  uint32_t value = 0;  // kRule: the rule index
  bool negated = false;
  std::vector<std::pair<uint32_t, uint32_t>> ranges;  // kChars: inclusive code point ranges

  bool matches(uint32_t cp) const;
  bool matches_any(uint32_t lo, uint32_t hi) const;  // some code point in [lo, hi]
};

using GrammarAlternative = std::vector<GrammarElement>;  // elements, the last kEnd
using GrammarRule = std::vector<GrammarAlternative>;

struct Grammar {
  std::vector<GrammarRule> rules;
  std::vector<std::string> names;  // per rule ("root", "value", "root_3" for helpers)
  uint32_t root = 0;
};

// Parses GBNF text. Errors name the line and column ("3:14: expected '::='").
Expected<Grammar> parse_gbnf(std::string_view text);

}  // namespace mx
