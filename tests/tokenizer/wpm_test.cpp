// WordPiece (BERT): llama.cpp's vectors for bert-bge, the normalisation, [CLS]/[SEP].
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tokenizer/fixtures.h"
#include "tokenizer/unicode_data.h"
#include "tokenizer/wpm.h"

namespace mx {
namespace {

const char* kBertBge = "tokenizer/ggml-vocab-bert-bge.gguf";

TEST(Wpm, BertBgeVectors) {
  const Tokenizer* t = test::shared_tokenizer(kBertBge);
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->vocab().kind(), VocabKind::kWpm);
  const std::vector<test::Vector> vectors = test::read_vectors(kBertBge);
  ASSERT_EQ(vectors.size(), 46u);
  int encoded = 0;
  for (const test::Vector& v : vectors) {
    const std::vector<Token> got = t->encode(v.text, false, false);
    EXPECT_EQ(got, v.ids) << "text: '" << v.text << "'\ngot:  " << testing::PrintToString(test::texts(*t, got))
                          << "\nwant: " << testing::PrintToString(test::texts(*t, v.ids));
    encoded += got == v.ids;
  }
  // WordPiece lowercases and drops accents, so there is no round trip to check.
  std::printf("[ vectors  ] bert-bge: %d/%zu encoded exactly\n", encoded, vectors.size());
}

TEST(Wpm, SpecialTokensAndDecode) {
  const Tokenizer* t = test::shared_tokenizer(kBertBge);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->vocab().bos(), 101);  // [CLS]
  EXPECT_EQ(t->vocab().sep(), 102);  // [SEP]
  EXPECT_EQ(t->vocab().unk(), 100);
  const std::vector<Token> ids = t->encode("Hello world", true, false);
  EXPECT_EQ(ids, (std::vector<Token>{101, 7592, 2088, 102}));
  // Word-start pieces carry '▁', which decodes to a space (llama.cpp keeps the first).
  EXPECT_EQ(t->decode(ids), " hello world");
  EXPECT_EQ(t->decode(ids, {.render_special = true}), "[CLS] hello world[SEP]");
  EXPECT_EQ(t->encode("[CLS] hi [SEP]", false, true).front(), 101);
  EXPECT_EQ(t->encode("", true, false), (std::vector<Token>{101, 102}));
}

TEST(Wpm, Normalisation) {
  const Tokenizer* t = test::shared_tokenizer(kBertBge);
  ASSERT_NE(t, nullptr);
  const auto& wpm = static_cast<const WpmTokenizer&>(*t);
  using W = std::vector<std::string>;
  EXPECT_EQ(wpm.words("Äpfel, CAFÉ!"), (W{"apfel", ",", "cafe", "!"}));
  EXPECT_EQ(wpm.words("  a\tb\n"), (W{"a", "b"}));
  EXPECT_EQ(wpm.words("我想a+b"), (W{"我", "想", "a", "+", "b"}));
  EXPECT_EQ(wpm.words("x\x01y\xE2\x80\x8Bz"), (W{"xyz"}));  // control and format characters go
  EXPECT_EQ(wpm.words("e\xCC\x81"), (W{"e"}));             // a combining accent goes
  EXPECT_EQ(wpm.words("\xFF" "ok"), (W{"ok"}));            // ill-formed bytes go
  EXPECT_EQ(wpm.words("БЪЛГАРИЯ"), (W{"българия"}));
  EXPECT_EQ(wpm.words("$5"), (W{"$", "5"}));              // ASCII symbols split
  EXPECT_EQ(wpm.words("5€"), (W{"5€"}));                  // others do not
}

TEST(Wpm, LongInputsStayFast) {
  const Tokenizer* t = test::shared_tokenizer(kBertBge);
  ASSERT_NE(t, nullptr);
  for (const std::string unit : {"a", " ", "数", "ab ", "\xF0\x9F\xA6\x99", "!"}) {
    std::string text;
    while (text.size() < 100'000) text += unit;
    const auto start = std::chrono::steady_clock::now();
    const std::vector<Token> ids = t->encode(text, false, false);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 10.0) << unit;
    for (Token id : ids) ASSERT_TRUE(t->vocab().contains(id));
  }
}

TEST(UnicodeData, LowerAndNfd) {
  EXPECT_EQ(unicode::to_lower('A'), uint32_t{'a'});
  EXPECT_EQ(unicode::to_lower('a'), uint32_t{'a'});
  EXPECT_EQ(unicode::to_lower(0xC4), 0xE4u);    // Ä
  EXPECT_EQ(unicode::to_lower(0x100), 0x101u);  // Ā, a stride-2 run
  EXPECT_EQ(unicode::to_lower(0x101), 0x101u);
  EXPECT_EQ(unicode::to_lower(0x130), uint32_t{'i'});  // İ: first of "i̇"
  EXPECT_EQ(unicode::to_lower(0x411), 0x431u);         // Б
  EXPECT_EQ(unicode::to_lower(0x1F600), 0x1F600u);
  EXPECT_EQ(unicode::nfd_first(0xC4), uint32_t{'A'});
  EXPECT_EQ(unicode::nfd_first(0x1EED), uint32_t{'u'});  // ử
  EXPECT_EQ(unicode::nfd_first(0xAC00), 0x1100u);        // 가
  EXPECT_EQ(unicode::nfd_first(0xD7A3), 0x1112u);        // 힣
  EXPECT_EQ(unicode::nfd_first('a'), uint32_t{'a'});
  EXPECT_EQ(unicode::nfd_first(0x4E00), 0x4E00u);
}

}  // namespace
}  // namespace mx
