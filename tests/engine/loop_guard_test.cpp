// The loop guard: the documents this project started from (an LLM looping on one phrase)
// are flagged within a few cycles; ordinary prose, code and lists are not.
#include "engine/loop_guard.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace mx {
namespace {

struct Flag {
  int64_t at;  // tokens fed when flagged
  DetectedLoop loop;
};

std::optional<Flag> first_loop(const std::vector<Token>& tokens, LoopGuardParams p = {}) {
  LoopDetector d(p);
  for (size_t i = 0; i < tokens.size(); ++i)
    if (const auto loop = d.push(tokens[i])) return Flag{static_cast<int64_t>(i + 1), *loop};
  return std::nullopt;
}

TEST(LoopGuard, ShortCyclesNeedMoreTokensThanLongOnes) {
  std::vector<Token> one(40, 7);  // "aaaa...": period 1, flagged at 32 tokens
  auto f = first_loop(one);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->loop.period, 1);
  EXPECT_EQ(f->at, 32);

  std::vector<Token> three;  // period 3: 4 cycles = 12 tokens
  for (int r = 0; r < 10; ++r) three.insert(three.end(), {1, 2, 3});
  f = first_loop(three);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->loop.period, 3);
  EXPECT_EQ(f->at, 12);
  EXPECT_EQ(f->loop.repeats, 4);

  std::vector<Token> twice;  // a 5-token line three times is not a loop
  for (int r = 0; r < 3; ++r) twice.insert(twice.end(), {10, 11, 12, 13, 14});
  twice.push_back(99);
  EXPECT_FALSE(first_loop(twice));
}

class LoopGuardText : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto file = gguf::File::open(test::shared_path("tokenizer/ggml-vocab-qwen2.gguf"));
    ASSERT_TRUE(file.ok());
    auto tok = Tokenizer::from_gguf(*file);
    ASSERT_TRUE(tok.ok());
    tokenizer_ = std::move(*tok).release();
  }
  static void TearDownTestSuite() { delete tokenizer_; }
  static std::vector<Token> tokens(const std::string& text) { return tokenizer_->encode(text, false, false); }
  static inline Tokenizer* tokenizer_ = nullptr;
};

TEST_F(LoopGuardText, SeedDocumentsAreFlaggedWithinAFewCycles) {
  for (const char* name : {"seeds/000_fb9d0946f2b16fa2.txt", "seeds/001_d7ff3125e38f8533.txt"}) {
    const std::vector<Token> t = tokens(test::read_text_file(test::shared_path(name)));
    const auto f = first_loop(t);
    ASSERT_TRUE(f) << name;
    // The cycle is the repeated phrase ("提高可靠性，" / "提高工作效率，"), caught after at most
    // six of its hundreds of repeats, long before the text collapses.
    const std::string cycle = tokenizer_->decode(std::span(t).subspan(f->at - f->loop.period, f->loop.period));
    EXPECT_NE(cycle.find("提高"), std::string::npos) << name << ": " << cycle;
    EXPECT_LE(f->loop.repeats, 6) << name;
    EXPECT_LT(f->at, static_cast<int64_t>(t.size()) / 4) << name;
  }
}

TEST_F(LoopGuardText, OrdinaryTextIsNotFlagged) {
  const std::string code = R"(#include <stdio.h>

static int clamp(int v, int lo, int hi) {
  if (v < lo) return lo;
  if (v > hi) return hi;
  return v;
}

int main(void) {
  int table[4][4] = {{0, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      printf("%d ", table[i][j]);
    }
    printf("\n");
  }
  printf("----------------\n");
  printf("----------------\n");
  printf("%d\n", clamp(5, 0, 3));
  printf("%d\n", clamp(-5, 0, 3));
  printf("%d\n", clamp(2, 0, 3));
  return 0;
}
)";
  const std::string list = R"(Shopping list:
1. apples
2. bread
3. milk
4. eggs
5. butter
- [ ] call the bank
- [ ] call the school
- [ ] call the plumber
| name | qty | price |
| --- | --- | --- |
| tea | 1 | 2.50 |
| jam | 2 | 3.10 |
)";
  const std::string stories = test::read_text_file(test::shared_path("golden/tinystories-like-eval.txt"));
  for (const std::string* text : {&code, &list, &stories}) {
    const auto f = first_loop(tokens(*text));
    EXPECT_FALSE(f) << "flagged a cycle of " << f->loop.period << " tokens in:\n" << text->substr(0, 200);
  }
}

}  // namespace
}  // namespace mx
