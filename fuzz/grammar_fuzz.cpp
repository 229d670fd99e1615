// libFuzzer target: random bytes as a GBNF grammar (up to the first NUL) and, when it
// parses, the rest fed to a matcher in pieces. Must never crash, hang or leak; and at
// every step the whole-vocabulary mask of a small vocabulary must agree with checking
// each of its tokens on its own.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "sampling/gbnf.h"
#include "sampling/grammar_matcher.h"

namespace {

const mx::TokenTexts& vocabulary() {
  static const mx::TokenTexts texts({"a", "ab", "abc", "b", "{", "}", "\"", "\\", " ", "\n", "0", "12", "-",
                                     "\xc3", "\xc3\xa9", "\xe6\x8f", "\xe6\x8f\x90", "\x90", "\xff", "x\xe6",
                                     "ab{", "", "\"a\"", "::=", "[", "]"});
  return texts;
}

void check_mask(const mx::GrammarMatcher& matcher) {
  const mx::TokenTexts& v = vocabulary();
  const std::vector<uint8_t>& allowed = matcher.allowed_tokens(v);
  for (size_t id = 0; id < v.text.size(); ++id) {
    const bool each = !v.text[id].empty() && matcher.can_accept(v.text[id]);
    if (allowed[id] != each) {
      std::fprintf(stderr, "mask %d but token check %d for token %zu\n", allowed[id], each, id);
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  auto grammar = mx::parse_gbnf(input.substr(0, split));
  if (!grammar.ok() || split == std::string_view::npos) return 0;
  mx::GrammarMatcher matcher(std::make_shared<const mx::Grammar>(std::move(*grammar)));
  check_mask(matcher);
  const std::string_view text = input.substr(split + 1);
  for (size_t i = 0; i < text.size(); i += 3) {
    const std::string_view piece = text.substr(i, 3);
    if (!matcher.can_accept(piece)) break;
    matcher.accept(piece);
    check_mask(matcher);
  }
  (void)matcher.is_complete();
  return 0;
}
