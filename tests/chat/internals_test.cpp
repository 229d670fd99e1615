// The building blocks on their own: Python's float and string repr, json.dumps, Unicode
// string operations, key order of the context, and the lexer's switches.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "chat/json_value.h"
#include "chat/lexer.h"
#include "chat/py_str.h"
#include "chat/ustr.h"
#include "render_helpers.h"

namespace mx::chat::test {
namespace {

TEST(ChatInternals, FloatReprMatchesPython) {
  EXPECT_EQ(float_repr(0.1), "0.1");
  EXPECT_EQ(float_repr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(float_repr(1.0), "1.0");
  EXPECT_EQ(float_repr(-0.0), "-0.0");
  EXPECT_EQ(float_repr(1e16), "1e+16");
  EXPECT_EQ(float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(float_repr(1e-4), "0.0001");
  EXPECT_EQ(float_repr(1e-5), "1e-05");
  EXPECT_EQ(float_repr(1.5e300), "1.5e+300");
  EXPECT_EQ(float_repr(123.456), "123.456");
  EXPECT_EQ(float_repr(5e-324), "5e-324");
  EXPECT_EQ(float_repr(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(float_repr(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(float_repr(std::nan("")), "nan");
}

TEST(ChatInternals, StringReprMatchesPython) {
  EXPECT_EQ(string_repr("abc"), "'abc'");
  EXPECT_EQ(string_repr("it's"), "\"it's\"");
  EXPECT_EQ(string_repr("both ' and \""), "'both \\' and \"'");
  EXPECT_EQ(string_repr("a\nb\t\\"), "'a\\nb\\t\\\\'");
  EXPECT_EQ(string_repr(std::string("\x00\x7f", 2)), "'\\x00\\x7f'");
  EXPECT_EQ(string_repr("\xc2\xa0\xe2\x80\x8b"), "'\\xa0\\u200b'");  // NBSP, zero-width space
  EXPECT_EQ(string_repr("\xc3\xa9\xe2\x9c\x93"), "'\xc3\xa9\xe2\x9c\x93'");  // é ✓ stay as they are
}

TEST(ChatInternals, JsonDumpsMatchesPython) {
  auto v = from_json(nlohmann::ordered_json::parse(R"({"b": [1, 2.5, null, true], "a": {"x": "é\n"}, "e": []})"));
  ASSERT_TRUE(v.ok());
  JsonDumpOptions o;
  EXPECT_EQ(*to_json(*v, o), R"({"b": [1, 2.5, null, true], "a": {"x": "é\n"}, "e": []})");
  o.indent = "  ";
  o.item_separator = ",";
  EXPECT_EQ(*to_json(*v, o), "{\n  \"b\": [\n    1,\n    2.5,\n    null,\n    true\n  ],\n  \"a\": {\n    \"x\": \"é\\n\"\n  },\n  \"e\": []\n}");
  JsonDumpOptions sorted;
  sorted.sort_keys = true;
  sorted.ensure_ascii = true;
  EXPECT_EQ(*to_json(*v, sorted), R"({"a": {"x": "\u00e9\n"}, "b": [1, 2.5, null, true], "e": []})");
  EXPECT_FALSE(to_json(Value(), o).ok());
}

TEST(ChatInternals, ContextKeyOrder) {
  auto t = ChatTemplate::parse("{{ d|tojson }}");
  ASSERT_TRUE(t.ok());
  // ordered_json keeps the caller's order, as transformers does; json sorts keys.
  EXPECT_EQ(*t->render(nlohmann::ordered_json::parse(R"({"d": {"z": 1, "a": 2}})")), R"({"z": 1, "a": 2})");
  EXPECT_EQ(*t->render(nlohmann::json::parse(R"({"d": {"z": 1, "a": 2}})")), R"({"a": 2, "z": 1})");
}

TEST(ChatInternals, UnicodeStrings) {
  EXPECT_EQ(ustr::length("h\xc3\xa9llo \xf0\x9f\x98\x80"), 7u);
  EXPECT_EQ(ustr::strip("\xe3\x80\x80 x\xc2\xa0\n", std::nullopt, true, true), "x");  // ideographic space, NBSP
  EXPECT_EQ(ustr::upper("stra\xc3\x9f" "e \xc3\xa9"), "STRASSE \xc3\x89");
  EXPECT_EQ(ustr::lower("\xd0\x9f\xd0\xa0\xd0\x98"), "\xd0\xbf\xd1\x80\xd0\xb8");  // ПРИ -> при
  EXPECT_EQ(ustr::split("  a \t b  ", std::nullopt, -1), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ustr::rsplit("a,b,c", std::string_view(","), 1), (std::vector<std::string>{"a,b", "c"}));
  EXPECT_EQ(ustr::splitlines("a\r\nb\rc\n"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ustr::replace("abc", "", "-", -1), "-a-b-c-");
  EXPECT_FALSE(ustr::is_valid_utf8("\xc0\x80"));        // overlong
  EXPECT_FALSE(ustr::is_valid_utf8("\xed\xa0\x80"));    // surrogate
  EXPECT_FALSE(ustr::is_valid_utf8("\xf4\x90\x80\x80"));  // beyond U+10FFFF
  EXPECT_FALSE(ustr::is_valid_utf8("\xe2\x82"));        // truncated
  EXPECT_TRUE(ustr::is_valid_utf8("\xf0\x9f\x98\x80"));
}

TEST(ChatInternals, LexerSwitchesOff) {
  // transformers always turns trim_blocks and lstrip_blocks on; the lexer also does without.
  auto tokens = tokenize("  {% if x %}\nA{% endif %}", LexerOptions{.trim_blocks = false, .lstrip_blocks = false});
  ASSERT_TRUE(tokens.ok());
  ASSERT_GE(tokens->size(), 2u);
  EXPECT_EQ((*tokens)[0].type, Tok::kData);
  EXPECT_EQ((*tokens)[0].text, "  ");
  auto data_after = std::find_if(tokens->begin(), tokens->end(), [](const Token& t) { return t.type == Tok::kData && t.text != "  "; });
  ASSERT_NE(data_after, tokens->end());
  EXPECT_EQ(data_after->text, "\nA");
  EXPECT_EQ(data_after->line, 1);
  EXPECT_EQ(data_after->col, 13);
}

}  // namespace
}  // namespace mx::chat::test
