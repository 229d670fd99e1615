// The stories260K vocabulary against the prompts and greedy texts in ../shared/golden.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tokenizer/fixtures.h"

namespace mx {
namespace {

nlohmann::json read_json(const std::string& rel) {
  return nlohmann::json::parse(test::read_text_file(test::shared_path(rel)));
}

TEST(Stories260K, OnceUponATime) {
  const Tokenizer* t = test::shared_tokenizer(test::kStories);
  ASSERT_NE(t, nullptr);
  const nlohmann::json g = read_json("golden/stories260K-once-upon-a-time.json");
  const auto prompt = g["prompt_token_ids"].get<std::vector<Token>>();
  EXPECT_EQ(prompt, (std::vector<Token>{1, 403, 407, 261, 378}));
  EXPECT_EQ(t->encode(g["prompt_text"].get<std::string>(), true, false), prompt);

  // The continuation decodes to the golden text ("\n" comes from the <0x0A> byte token).
  const auto greedy = g["greedy_token_ids"].get<std::vector<Token>>();
  const std::string greedy_text = g["greedy_text"].get<std::string>();
  EXPECT_EQ(t->decode(greedy, {.strip_space_prefix = false}), greedy_text);
  EXPECT_EQ(t->decode(greedy), greedy_text);  // its first piece "," has no space to strip

  // After BOS the prefixed space stays, as llama-completion prints it.
  std::vector<Token> all = prompt;
  all.insert(all.end(), greedy.begin(), greedy.end());
  EXPECT_EQ(t->decode(all), " Once upon a time" + greedy_text);
  EXPECT_EQ(t->decode(all, {.remove_special = true}), " Once upon a time" + greedy_text);
  EXPECT_EQ(t->decode(all, {.render_special = true}), "<s> Once upon a time" + greedy_text);
  const std::string printed =
      test::read_text_file(test::shared_path("golden/stories260K-once-upon-a-time.greedy64.txt"));
  EXPECT_EQ(t->decode(all).substr(0, printed.size()), printed);

  // Without BOS the ids start the text: the prefixed space goes.
  const std::vector<Token> no_bos(prompt.begin() + 1, prompt.end());
  EXPECT_EQ(t->decode(no_bos), "Once upon a time");
}

TEST(Stories260K, ManifestPrompts) {
  const Tokenizer* t = test::shared_tokenizer(test::kStories);
  ASSERT_NE(t, nullptr);
  const nlohmann::json m = read_json("golden/stories260K/manifest.json");
  const char* texts[] = {
      "Once upon a time, there was a little",
      "One day, Lily went to the park with her mom. She saw a big red ball.",
      "Tom had a little dog named Spot. Every morning, Tom and Spot ran to the river to look",
  };
  ASSERT_EQ(m["prompts"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto want = m["prompts"][i]["prompt_token_ids"].get<std::vector<Token>>();
    EXPECT_EQ(t->encode(texts[i], true, false), want) << "p" << i;
    EXPECT_EQ(t->decode(want, {.remove_special = true}), std::string(" ") + texts[i]);
    const std::vector<Token> no_bos(want.begin() + 1, want.end());
    EXPECT_EQ(t->decode(no_bos), texts[i]);
  }
}

}  // namespace
}  // namespace mx
