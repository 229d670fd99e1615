// POST /tokenize and /detokenize: the model's own tokens, and every malformed body a 400
// naming the field (a wrong type once escaped as a 500).
#include "served_stories_test.h"

namespace mx {
namespace {

using nlohmann::json;

class TokenRoutesTest : public test::ServedStoriesTest {};

TEST_F(TokenRoutesTest, TokenizeAndDetokenizeRoundTrip) {
  start();
  const std::string text = "Once upon a time";
  const json plain = post("/tokenize", {{"content", text}});
  EXPECT_EQ(plain["tokens"].get<std::vector<Token>>(), tokenizer_->encode(text, false, true));
  const json special = post("/tokenize", {{"content", text}, {"add_special", true}});
  EXPECT_EQ(special["tokens"].get<std::vector<Token>>(), tokenizer_->encode(text, true, true));
  EXPECT_NE(special["tokens"], plain["tokens"]);
  EXPECT_EQ(post("/detokenize", {{"tokens", plain["tokens"]}})["content"], " " + text);
}

TEST_F(TokenRoutesTest, MalformedBodiesAre400sNamingTheField) {
  start();
  EXPECT_EQ(post("/tokenize", {{"content", "x"}, {"add_special", "yes"}}, 400)["error"]["param"], "add_special");
  EXPECT_EQ(post("/tokenize", {{"content", 3}}, 400)["error"]["param"], "content");
  EXPECT_EQ(post("/detokenize", {{"tokens", "1 2"}}, 400)["error"]["param"], "tokens");
  for (const json& bad : {json(-1), json(1.5), json("a"), json(tokenizer_->vocab().size())})
    EXPECT_EQ(post("/detokenize", {{"tokens", {1, bad}}}, 400)["error"]["param"], "tokens") << bad.dump();
}

}  // namespace
}  // namespace mx
