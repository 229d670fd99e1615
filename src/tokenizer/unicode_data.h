// The two Unicode mappings WordPiece (BERT) normalisation needs, as llama.cpp applies
// them: lowercase and accent stripping, both one code point to one code point.
// The tables in unicode_data.cpp were generated from Python's unicodedata (Unicode
// 14.0, the version PCRE2 10.42 uses for the character classes) with:
//   lower: ord(chr(c).lower()[0]) where it differs from c, as (first, last, delta,
//          stride) runs;
//   nfd:   ord(unicodedata.normalize('NFD', chr(c))[0]) where it differs, as runs of
//          one value (Hangul syllables are computed instead).
// Character categories come from PCRE2 (\p{..}), not from tables.
#pragma once

#include <cstdint>

namespace mx::unicode {

// First code point of the full lowercase mapping ('İ' -> 'i'); `cp` when it has none.
uint32_t to_lower(uint32_t cp);

// First code point of the canonical decomposition ('é' -> 'e', '가' -> 'ᄀ'): dropping the
// rest is how llama.cpp strips accents. `cp` when it does not decompose.
uint32_t nfd_first(uint32_t cp);

}  // namespace mx::unicode
