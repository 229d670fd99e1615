// Special tokens written in text: parsed into their ids or left as text.
#include <gtest/gtest.h>

#include <algorithm>

#include "tokenizer/fixtures.h"

namespace mx {
namespace {

bool contains(const std::vector<Token>& ids, Token id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

TEST(Special, ParsedControlTokensBecomeIds) {
  const Tokenizer* t = test::shared_tokenizer(test::kLlamaSpm);
  ASSERT_NE(t, nullptr);
  // Each text fragment after a special token gets its own space prefix, as in llama.cpp.
  EXPECT_EQ(t->encode("<s>Hello</s>", false, true), (std::vector<Token>{1, 15043, 2}));
  EXPECT_EQ(t->encode("Hello<s>Hello", false, true), (std::vector<Token>{15043, 1, 15043}));
  EXPECT_EQ(t->encode("<s><s>", false, true), (std::vector<Token>{1, 1}));
  EXPECT_EQ(t->encode("<s>", true, true), (std::vector<Token>{1, 1}));
  EXPECT_EQ(t->encode("<unk>", false, true), std::vector<Token>{0});
}

TEST(Special, UnparsedControlTokensAreText) {
  const Tokenizer* t = test::shared_tokenizer(test::kLlamaSpm);
  ASSERT_NE(t, nullptr);
  for (const char* text : {"<s>Hello</s>", "<unk>", "a</s>b"}) {
    const std::vector<Token> ids = t->encode(text, false, false);
    EXPECT_FALSE(contains(ids, 0) || contains(ids, 1) || contains(ids, 2)) << text;
    EXPECT_EQ(t->decode(ids), text);
  }
  EXPECT_EQ(t->encode("<s>", false, false), (std::vector<Token>{529, 29879, 29958}));  // ▁< s >
}

TEST(Special, DecodeHidesOrRendersControlTokens) {
  const Tokenizer* t = test::shared_tokenizer(test::kLlamaSpm);
  ASSERT_NE(t, nullptr);
  const std::vector<Token> ids = t->encode("<s>Hello</s>", false, true);
  EXPECT_EQ(t->decode(ids), " Hello");  // the BOS comes first, so the space stays
  EXPECT_EQ(t->decode(ids, {.render_special = true}), "<s> Hello</s>");
  EXPECT_EQ(t->token_to_piece(1), "");
  EXPECT_EQ(t->token_to_piece(1, true), "<s>");
  EXPECT_EQ(t->token_to_piece(0, true), "<unk>");
  EXPECT_EQ(t->token_to_piece(-1), "");
  EXPECT_EQ(t->token_to_piece(32000), "");
}

TEST(Special, Phi3UserDefinedAndStrip) {
  const Tokenizer* t = test::shared_tokenizer(test::kPhi3);
  ASSERT_NE(t, nullptr);
  // "</s>" is user-defined in Phi-3: split out even without parse_special, and as all
  // Phi-3 specials but <s>, <unk> and <|endoftext|> it swallows the whitespace after it.
  const std::vector<Token> a = t->encode("Hi</s>  there", false, false);
  const std::vector<Token> b = t->encode("Hi</s>there", false, false);
  EXPECT_TRUE(contains(a, 2));
  EXPECT_EQ(a, b);
  // Control tokens only with parse_special; <|user|> strips the newline after it.
  EXPECT_FALSE(contains(t->encode("<|user|>\nHi", false, false), 32010));
  const std::vector<Token> chat = t->encode("<|user|>\nHi<|end|>\n<|assistant|>\n", false, true);
  EXPECT_EQ(chat, (std::vector<Token>{32010, 6324, 32007, 32001}));
  EXPECT_EQ(t->decode(chat, {.render_special = true}), "<|user|> Hi<|end|><|assistant|>");
  // <s> does not strip: the space becomes part of the next fragment.
  EXPECT_NE(t->encode("<s> Hi", false, true), t->encode("<s>Hi", false, true));
}

TEST(Special, SplitLongestFirst) {
  VocabSpec s = test::small_spec({{"x", -1}});
  for (const char* text : {"<a>", "<a><b>"}) {
    s.tokens.push_back(text);
    s.scores.push_back(0);
    s.types.push_back(3);
  }
  auto t = test::make_tokenizer(s);
  const std::vector<Fragment> f = t->split_special("x<a><b>x<a>", true);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].token, kNoToken);
  EXPECT_EQ(f[1].token, 261);  // "<a><b>" wins over "<a>"
  EXPECT_EQ(f[2].token, kNoToken);
  EXPECT_EQ(f[2].begin, 7u);
  EXPECT_EQ(f[3].token, 260);
  EXPECT_EQ(t->split_special("x<a><b>", false).size(), 1u);
  EXPECT_TRUE(t->split_special("", true).empty());
}

}  // namespace
}  // namespace mx
