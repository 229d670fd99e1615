#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tokenizer/fixtures.h"

namespace mx {
namespace {

using test::make_tokenizer;
using test::small_spec;
using test::texts;

const std::string kSp = "\xE2\x96\x81";  // '▁'
constexpr Token kByte0 = 3;              // small_spec: <0x00> is token 3
constexpr Token kFirstNormal = 259;      // and the first normal token follows the bytes

TEST(Spm, HighestScoredPairMergesFirst) {
  // "▁ab": "ab" (-0.5) beats "▁a" (-1), then "▁" + "ab" is not a token.
  auto t = make_tokenizer(small_spec({{kSp, -10}, {"a", -10}, {"b", -10}, {kSp + "a", -1}, {"ab", -0.5}}));
  const std::vector<Token> got = t->encode("ab", false, false);
  EXPECT_EQ(texts(*t, got), (std::vector<std::string>{kSp, "ab"}));
}

TEST(Spm, EqualScoresMergeLeftmostFirst) {
  auto t = make_tokenizer(small_spec({{kSp, -10}, {"a", -10}, {"aa", -1}}));
  EXPECT_EQ(texts(*t, t->encode("aaa", false, false)),
            (std::vector<std::string>{kSp, "aa", "a"}));
  EXPECT_EQ(texts(*t, t->encode("aaaa", false, false)),
            (std::vector<std::string>{kSp, "aa", "aa"}));
}

TEST(Spm, MergesChainThroughIntermediateTokens) {
  auto t = make_tokenizer(small_spec(
      {{kSp, -10}, {"h", -10}, {"e", -10}, {"l", -10}, {"o", -10}, {"ll", -1}, {"he", -2},
       {"llo", -3}, {"hello", -4}, {kSp + "hello", -5}}));
  EXPECT_EQ(texts(*t, t->encode("hello", false, false)), (std::vector<std::string>{kSp + "hello"}));
  EXPECT_EQ(texts(*t, t->encode("hello hello", false, false)),
            (std::vector<std::string>{kSp + "hello", kSp + "hello"}));
}

TEST(Spm, UnknownCharactersFallBackToBytes) {
  auto t = make_tokenizer(small_spec({{kSp, -10}, {"a", -10}}));
  EXPECT_EQ(t->encode("a\xC3\xA9", false, false),
            (std::vector<Token>{kFirstNormal, kFirstNormal + 1, kByte0 + 0xC3, kByte0 + 0xA9}));
}

TEST(Spm, WithoutByteTokensEachByteIsUnknown) {
  auto t = make_tokenizer(small_spec({{kSp, -10}, {"a", -10}}, /*byte_tokens=*/false));
  // tokens: <unk> <s> </s> ▁ a
  EXPECT_EQ(t->encode("a\xC3\xA9", false, false), (std::vector<Token>{3, 4, 0, 0}));
}

TEST(Spm, InvalidUtf8IsOneSymbolPerBadByte) {
  auto t = make_tokenizer(small_spec({{kSp, -10}, {"a", -10}, {"b", -10}, {"ab", -1}}));
  // The lone lead byte 0xC3 does not swallow "a": "ab" still merges.
  EXPECT_EQ(t->encode("\xC3" "ab", false, false),
            (std::vector<Token>{kFirstNormal, kByte0 + 0xC3, kFirstNormal + 3}));
  // Truncated and stray bytes at the end do not read past the text.
  EXPECT_EQ(t->encode("\xF0\x9F", false, false),
            (std::vector<Token>{kFirstNormal, kByte0 + 0xF0, kByte0 + 0x9F}));
  EXPECT_EQ(t->encode("\x80", false, false), (std::vector<Token>{kFirstNormal, kByte0 + 0x80}));
}

TEST(Spm, SpacePrefixAndBosEos) {
  VocabSpec s = small_spec({{kSp, -10}, {"a", -10}});
  auto t = make_tokenizer(s);
  EXPECT_EQ(t->encode("", false, false), std::vector<Token>{});
  EXPECT_EQ(t->encode("", true, false), std::vector<Token>{1});
  EXPECT_EQ(t->encode("a", true, false), (std::vector<Token>{1, kFirstNormal, kFirstNormal + 1}));
  EXPECT_EQ(t->encode(" ", false, false), (std::vector<Token>{kFirstNormal, kFirstNormal}));
  s.add_space_prefix = false;
  s.add_eos = true;
  t = make_tokenizer(s);
  EXPECT_EQ(t->encode("a", true, false), (std::vector<Token>{1, kFirstNormal + 1, 2}));
  EXPECT_EQ(t->encode("", true, false), (std::vector<Token>{1, 2}));
}

using test::read_vectors;
using test::Vector;

class SpmVectors : public ::testing::TestWithParam<const char*> {};

// llama.cpp's detokenize of these ids drops the prefixed space and gives the text back.
TEST_P(SpmVectors, EncodeExactlyAndRoundTrip) { test::expect_vectors_pass(GetParam()); }

TEST_P(SpmVectors, ConstTokenizerIsSharedAcrossThreads) { test::expect_shared_across_threads(GetParam(), 5); }

INSTANTIATE_TEST_SUITE_P(Vocabs, SpmVectors, ::testing::Values(test::kLlamaSpm, test::kPhi3));

TEST(SpmLong, HundredKilobytesAreNotQuadratic) {
  const Tokenizer* t = test::shared_tokenizer(test::kLlamaSpm);
  ASSERT_NE(t, nullptr);
  for (const std::string unit : {"a", " ", "数", "\xF0\x9F\xA6\x99", "ab "}) {
    std::string text;
    while (text.size() < 100'000) text += unit;
    const auto start = std::chrono::steady_clock::now();
    const std::vector<Token> ids = t->encode(text, false, false);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(t->decode(ids), text) << unit;
    // O(n log n) takes milliseconds (sanitizers included); quadratic would take minutes.
    EXPECT_LT(seconds, 10.0) << unit;
  }
}

TEST(SpmWhitespace, RunsAndControlCharacters) {
  const Tokenizer* t = test::shared_tokenizer(test::kLlamaSpm);
  ASSERT_NE(t, nullptr);
  for (const std::string& text : std::vector<std::string>{" ", "  ", "\t\t", "\n\n\n", "a  b", "   x   ", "\r\n", "\v\f",
                                 std::string("a\0b", 3), "0123456789 10 100 1000"}) {
    EXPECT_EQ(t->decode(t->encode(text, false, false)), text);
  }
  EXPECT_EQ(t->encode("  ", false, false), std::vector<Token>{1678});  // "▁▁▁"
}

}  // namespace
}  // namespace mx
