// GBNF parsing (errors with positions) and matching: strings the grammar accepts are
// accepted character by character and token by token, others are rejected.
#include <gtest/gtest.h>

#include <memory>

#include "sampling/gbnf.h"
#include "sampling/grammar_matcher.h"
#include "sampling/grammar_sampler.h"

namespace mx {
namespace {

std::shared_ptr<const Grammar> grammar(std::string_view text) {
  auto g = parse_gbnf(text);
  EXPECT_TRUE(g.ok()) << g.error().message;
  return g.ok() ? std::make_shared<const Grammar>(std::move(*g)) : nullptr;
}

// Whether the whole string is a sentence of the grammar, fed in pieces of `step` bytes.
bool accepts(const std::shared_ptr<const Grammar>& g, std::string_view s, size_t step = 1) {
  GrammarMatcher m(g);
  for (size_t i = 0; i < s.size(); i += step) {
    const std::string_view piece = s.substr(i, step);
    if (!m.can_accept(piece)) return false;
    m.accept(piece);
  }
  return m.is_complete();
}

TEST(Gbnf, LiteralsClassesRepetitionsAndGroups) {
  const auto g = grammar(R"(
# a comment
root  ::= greet ", " name ("!" | "?")? digits{0,3}
greet ::= "hello" | "hi"
name  ::= [A-Z] [a-z]*   # capitalised
digits ::= [0-9]
)");
  ASSERT_TRUE(g);
  EXPECT_TRUE(accepts(g, "hello, Bob"));
  EXPECT_TRUE(accepts(g, "hi, Al!12"));
  EXPECT_TRUE(accepts(g, "hi, A?123"));
  EXPECT_FALSE(accepts(g, "hi, A?1234"));  // at most 3 digits
  EXPECT_FALSE(accepts(g, "hey, Bob"));
  EXPECT_FALSE(accepts(g, "hello, bob"));
  EXPECT_FALSE(accepts(g, "hello, "));     // a prefix is not complete
}

TEST(Gbnf, NegatedClassesAnyCharEscapesAndUtf8) {
  const auto g = grammar(R"(root ::= "\"" [^"\\\x00-\x1F]* "\"" . "é" [\u4e00-\u9fff]+)");
  ASSERT_TRUE(g);
  EXPECT_TRUE(accepts(g, "\"abc\"xé提高"));
  EXPECT_FALSE(accepts(g, "\"a\"b\"xé提高"));  // a quote inside
  EXPECT_FALSE(accepts(g, "\"abc\"xé"));       // at least one CJK character
  // Multi-byte characters split across pieces wait for their remaining bytes.
  EXPECT_TRUE(accepts(g, "\"abc\"xé提高", 2));
  EXPECT_TRUE(accepts(g, "\"abc\"xé提高", 5));
}

TEST(Gbnf, RepetitionForms) {
  const auto g = grammar(R"(root ::= "a"+ "b"* "c"? ("xy"){2} "z"{1,})");
  ASSERT_TRUE(g);
  EXPECT_TRUE(accepts(g, "axyxyz"));
  EXPECT_TRUE(accepts(g, "aaabbcxyxyzzz"));
  EXPECT_FALSE(accepts(g, "bxyxyz"));    // + needs one
  EXPECT_FALSE(accepts(g, "axyz"));      // {2}
  EXPECT_FALSE(accepts(g, "axyxy"));     // {1,}
  EXPECT_FALSE(accepts(g, "accxyxyz"));  // ? is at most one
}

TEST(Gbnf, MultiLineRulesAndNestedGroups) {
  const auto g = grammar(R"(root ::= object
object ::=
  "{" ws (
    string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws
value ::= object | string | [0-9]+ ws | ("true" | "false" | "null") ws
string ::= "\"" ([^"\\] | "\\" ["\\/bfnrt])* "\"" ws
ws ::= [ \t\n]*
)");
  ASSERT_TRUE(g);
  EXPECT_TRUE(accepts(g, R"({"a": {"b": true}, "c": 12, "d\"e": "x"})"));
  EXPECT_TRUE(accepts(g, "{ }"));
  EXPECT_FALSE(accepts(g, R"({"a": tru})"));
  EXPECT_FALSE(accepts(g, R"({"a" 1})"));
}

TEST(Gbnf, ErrorsNameTheirPosition) {
  const struct {
    const char* text;
    const char* error;
  } bad[] = {
      {"root ::= \"abc", "1:14: unterminated string"},
      {"root ::= [a-", "unterminated character class"},
      {"root = \"a\"", "1:6: expected '::='"},
      {"root ::= x", "rule 'x' is used but not defined"},
      {"start ::= \"a\"", "no 'root' rule"},
      {"root ::= (\"a\"", "expected ')'"},
      {"root ::= * \"a\"", "without anything to repeat"},
      {"root ::= \"a\"{3,1}", "maximum below its minimum"},
      {"root ::= root \"a\"", "left-recursive"},
      {"root ::= x\nx ::= \"y\"? root", "left-recursive"},
      {"root ::= \"a\"\nroot ::= \"b\"", "defined twice"},
      {"root ::= \"\\q\"", "unknown escape"},
  };
  for (const auto& b : bad) {
    const auto g = parse_gbnf(b.text);
    ASSERT_FALSE(g.ok()) << b.text;
    EXPECT_NE(g.error().message.find(b.error), std::string::npos) << b.text << " -> " << g.error().message;
  }
}

TEST(GrammarSampler, MasksTokensAndAllowsEndOnlyWhenComplete) {
  const auto g = grammar(R"(root ::= "ab" | "abc")");
  auto texts = std::make_shared<const TokenTexts>(std::vector<std::string>{"a", "b", "c", "x", "", "bc"});
  GrammarSampler s({g, texts, {4}});
  Candidates c;
  c.reset(std::vector<float>(6, 0.0f));
  s.apply(c);
  auto allowed = [&] {
    std::vector<Token> ids;
    for (const auto& x : c.items)
      if (x.logit > -INFINITY) ids.push_back(x.id);
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  EXPECT_EQ(allowed(), std::vector<Token>{0});
  s.accept(0);
  c.reset(std::vector<float>(6, 0.0f));
  s.apply(c);
  EXPECT_EQ(allowed(), (std::vector<Token>{1, 5}));
  s.accept(1);  // "ab": complete, "c" may follow
  c.reset(std::vector<float>(6, 0.0f));
  s.apply(c);
  EXPECT_EQ(allowed(), (std::vector<Token>{2, 4}));
}

}  // namespace
}  // namespace mx
