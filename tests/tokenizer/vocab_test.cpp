#include <gtest/gtest.h>

#include "tokenizer/fixtures.h"

namespace mx {
namespace {

using test::small_spec;

TEST(Vocab, SpmDefaults) {
  auto v = Vocab::create(small_spec({{"\xE2\x96\x81" "a", -1}}));
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->kind(), VocabKind::kSpm);
  EXPECT_EQ(v->size(), 3 + 256 + 1);
  EXPECT_EQ(v->bos(), 1);
  EXPECT_EQ(v->eos(), 2);
  EXPECT_EQ(v->unk(), 0);
  EXPECT_EQ(v->pad(), kNoToken);
  EXPECT_TRUE(v->add_bos());
  EXPECT_FALSE(v->add_eos());
  EXPECT_TRUE(v->add_space_prefix());
  EXPECT_EQ(v->find("\xE2\x96\x81" "a"), 259);
  EXPECT_EQ(v->find("nope"), kNoToken);
  EXPECT_EQ(v->byte_token(0x0A), 3 + 0x0A);
  EXPECT_EQ(v->token_byte(3 + 0xAB), 0xAB);
  EXPECT_TRUE(v->is_byte(3 + 0xAB));
  EXPECT_TRUE(v->is_control(0));  // unknown counts as control when decoding
  EXPECT_TRUE(v->is_control(1));
  EXPECT_FALSE(v->is_control(259));
  EXPECT_TRUE(v->is_eog(2));
  EXPECT_FALSE(v->is_eog(1));
  EXPECT_FALSE(v->is_eog(-5));
}

// An end-of-turn token stored as normal text becomes a control token: it ends generation,
// is hidden when decoding and is only matched in text when special parsing is on.
TEST(Vocab, EndOfTurnTokensBecomeControl) {
  VocabSpec s = small_spec({{"<|im_end|>", 0}, {"<|eom_id|>", 0}, {"\xE2\x96\x81" "a", -1}});
  s.types[2] = 4;  // "</s>" user-defined (as Phi-3 stores it): keeps its type
  s.eos = 1;
  auto v = Vocab::create(s);
  ASSERT_TRUE(v.ok()) << v.error().message;
  const Token im_end = v->find("<|im_end|>"), eom = v->find("<|eom_id|>");
  EXPECT_TRUE(v->is_eog(im_end));
  EXPECT_EQ(v->type(im_end), TokenType::kControl);
  EXPECT_TRUE(v->is_eog(eom));
  EXPECT_EQ(v->type(eom), TokenType::kNormal);
  EXPECT_TRUE(v->is_eog(2));
  EXPECT_EQ(v->type(2), TokenType::kUserDefined);

  auto tok = test::make_tokenizer(s);
  EXPECT_EQ(tok->decode(std::vector<Token>{im_end}), "");
  const auto plain = tok->encode("<|im_end|>", false, /*parse_special=*/false);
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(tok->encode("<|im_end|>", false, /*parse_special=*/true), std::vector<Token>{im_end});
}

TEST(Vocab, FlagsAndIdsFromSpec) {
  VocabSpec s = small_spec({});
  s.add_bos = false;
  s.add_eos = true;
  s.add_space_prefix = false;
  s.bos = 2;
  s.eos = 1;
  s.pad = 0xFFFFFFFFll;  // "none", as converters write it
  auto v = Vocab::create(s);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_FALSE(v->add_bos());
  EXPECT_TRUE(v->add_eos());
  EXPECT_FALSE(v->add_space_prefix());
  EXPECT_EQ(v->bos(), 2);
  EXPECT_EQ(v->eos(), 1);
  EXPECT_EQ(v->pad(), kNoToken);
}

TEST(Vocab, SpecialTokensLongestFirst) {
  VocabSpec s = small_spec({{"x", -1}});
  s.tokens.push_back("<|user|>");
  s.scores.push_back(0);
  s.types.push_back(4);  // user-defined
  auto v = Vocab::create(s);
  ASSERT_TRUE(v.ok());
  const std::vector<Token> want = {260, 0, 2, 1};  // "<|user|>", "<unk>", "</s>", "<s>"
  EXPECT_EQ(v->special_tokens(), want);
}

TEST(Vocab, ByteFallbackWithoutByteTokens) {
  auto v = Vocab::create(small_spec({{"a", -1}}, /*byte_tokens=*/false));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->byte_token('a'), 3);  // the single-byte token stands in for <0x61>
  EXPECT_EQ(v->byte_token('b'), kNoToken);
}

TEST(Vocab, RejectsInconsistentSpecs) {
  auto expect_error = [](VocabSpec s, const std::string& fragment) {
    auto v = Vocab::create(std::move(s));
    ASSERT_FALSE(v.ok()) << "expected an error mentioning " << fragment;
    EXPECT_NE(v.error().message.find(fragment), std::string::npos) << v.error().message;
  };
  VocabSpec s = small_spec({{"a", -1}});
  s.scores.pop_back();
  expect_error(s, "scores has 259 entries for 260 tokens");
  s = small_spec({{"a", -1}});
  s.types.push_back(1);
  expect_error(s, "token_type has 261 entries");
  s = small_spec({{"a", -1}, {"a", -2}});
  expect_error(s, "repeats the text 'a'");
  s = small_spec({});
  s.eos = 9999;
  expect_error(s, "EOS (tokenizer.ggml.eos_token_id) id 9999 is outside the vocabulary of 259");
  s = small_spec({});
  s.bos = -7;
  expect_error(s, "BOS");
  s = small_spec({});
  s.types[5] = 6;
  s.tokens[5] = "byte";
  expect_error(s, "is a byte token but its text 'byte'");
  s = small_spec({});
  s.model = "t5";
  expect_error(s, "unsupported tokenizer model 't5'");
  s = small_spec({});
  s.model = "gpt2";
  expect_error(s, "merges");
  s = small_spec({});
  s.tokens.clear(), s.scores.clear(), s.types.clear();
  expect_error(s, "no tokens");
  s = small_spec({}, false);
  s.tokens.resize(1), s.scores.resize(1), s.types.resize(1);  // only <unk>: default BOS 1 is gone
  expect_error(s, "add_bos_token is true but there is no BOS");
}

TEST(Vocab, BpeVocabularyLoadsAndTokenizes) {
  VocabSpec s;
  s.model = "gpt2";
  s.pre = "gpt-2";
  s.tokens = {"a", "b", "ab"};
  s.merges = {"a b"};
  auto v = Vocab::create(s);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->kind(), VocabKind::kBpe);
  EXPECT_FALSE(v->add_space_prefix());
  EXPECT_EQ(v->merges().size(), 1u);
  EXPECT_EQ(v->byte_token('a'), 0);
  EXPECT_EQ(v->byte_token(' '), kNoToken);  // would be "Ġ"
  auto t = Tokenizer::create(std::move(*v));
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ((*t)->encode("abba", false, false), (std::vector<Token>{2, 1, 0}));
}

}  // namespace
}  // namespace mx
