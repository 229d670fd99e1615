#include "sampling/utf8_guard.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/utf8.h"
#include "sampling/chain.h"

namespace mx {
namespace {

// A vocabulary with the shapes byte-level tokens take: ASCII, whole characters, lead
// bytes, continuation bytes, pieces that split a character, bytes that are never valid,
// and a text-less token (end of generation).
enum : Token { kA, kLeadE4, kContBD, kContA0, kCont80, kEAcute, kEnd, kEmojiHead, kEmojiTail, kNi, kC0, kTailThenA };
std::shared_ptr<const TokenTexts> toy_texts() {
  return std::make_shared<const TokenTexts>(std::vector<std::string>{
      "a", "\xE4", "\xBD", "\xA0", "\x80", "\xC3\xA9", "", "\xF0\x9F", "\x98\x80", "\xE4\xBD\xA0", "\xC0", "\xA0" "a"});
}

std::vector<Token> allowed(const Utf8Guard& g, int n) {
  std::vector<Token> out;
  for (Token t = 0; t < n; ++t)
    if (g.allows(t)) out.push_back(t);
  return out;
}

TEST(Utf8Guard, AtACharacterBoundaryOnlyWhatStartsWellFormedText) {
  Utf8Guard g(toy_texts());
  EXPECT_EQ(allowed(g, 12), (std::vector<Token>{kA, kLeadE4, kEAcute, kEnd, kEmojiHead, kNi}));
  EXPECT_TRUE(g.allows(99));  // past the table: no text, allowed at a boundary...
  g.accept(kLeadE4);
  EXPECT_FALSE(g.allows(99));  // ...but not inside a character
}

TEST(Utf8Guard, AnOpenCharacterMustBeFinishedBeforeAnythingElse) {
  Utf8Guard g(toy_texts());
  g.accept(kLeadE4);  // E4 needs two continuation bytes, the first in 80..BF
  EXPECT_EQ(allowed(g, 12), (std::vector<Token>{kContBD, kContA0, kCont80, kEmojiTail}));
  g.accept(kContBD);
  EXPECT_EQ(allowed(g, 12), (std::vector<Token>{kContBD, kContA0, kCont80, kTailThenA}));
  g.accept(kTailThenA);  // finishes U+4F60 and adds "a": back at a boundary
  EXPECT_EQ(allowed(g, 12), (std::vector<Token>{kA, kLeadE4, kEAcute, kEnd, kEmojiHead, kNi}));
  g.accept(kEmojiHead);  // F0 9F: two more continuation bytes
  EXPECT_EQ(allowed(g, 12), (std::vector<Token>{kContBD, kContA0, kCont80, kEmojiTail}));
}

TEST(Utf8Guard, SecondByteRangesFollowTable3_7) {
  // E0 needs A0..BF next (no overlongs), ED needs 80..9F (no surrogates).
  Utf8Guard e0(std::make_shared<const TokenTexts>(std::vector<std::string>{"\xE0", "\x80", "\xA0", "\xED", "\x9F"}));
  e0.accept(0);
  EXPECT_EQ(allowed(e0, 5), (std::vector<Token>{2}));
  Utf8Guard ed(std::make_shared<const TokenTexts>(std::vector<std::string>{"\xE0", "\x80", "\xA0", "\xED", "\x9F"}));
  ed.accept(3);
  EXPECT_EQ(allowed(ed, 5), (std::vector<Token>{1, 4}));
}

TEST(Utf8Guard, ApplyMasksDisallowedTokensUnlessNoneIsLeft) {
  Utf8Guard g(toy_texts());
  g.accept(kLeadE4);
  Candidates c;
  c.reset(std::vector<float>(12, 1.0f));
  g.apply(c);
  for (const Candidate& x : c.items) EXPECT_EQ(x.logit > -INFINITY, g.allows(x.id)) << x.id;
  // Only disallowed candidates have a finite logit: nothing is masked.
  Candidates only_bad;
  only_bad.reset(std::vector<float>{2.0f, -INFINITY, -INFINITY, -INFINITY, -INFINITY, 1.0f});
  g.apply(only_bad);
  EXPECT_EQ(only_bad.items[0].logit, 2.0f);
  EXPECT_EQ(only_bad.items[5].logit, 1.0f);
}

// Random logits over the toy vocabulary favour the ill-formed tokens; the chain with the
// texts never emits an ill-formed byte, the chain without them does.
std::string sample_text(bool guarded, float temperature, uint64_t seed) {
  SamplingParams p{.temperature = temperature, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = seed};
  if (guarded) p.texts = toy_texts();
  SamplerChain chain(p);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<float> noise(0.0f, 2.0f);
  std::string text;
  const auto texts = toy_texts();
  for (int step = 0; step < 400; ++step) {
    std::vector<float> logits(12);
    for (float& l : logits) l = noise(rng);
    logits[kCont80] += 3.0f;  // a stray continuation byte is the likeliest token
    logits[kC0] += 2.0f;      // and a byte that is never valid the next
    const Token t = chain.sample(logits);
    text += texts->text[static_cast<size_t>(t)];
  }
  return text;
}

TEST(Utf8Guard, SampledTextIsWellFormedWithTheTextsAndNotWithout) {
  for (const float temperature : {0.0f, 0.8f, 1.5f})
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      EXPECT_TRUE(utf8::is_valid_prefix(sample_text(true, temperature, seed))) << temperature << " " << seed;
      EXPECT_FALSE(utf8::is_valid_prefix(sample_text(false, temperature, seed))) << temperature << " " << seed;
    }
}

TEST(Utf8Guard, MirostatKeepsToIt) {
  SamplingParams p{.temperature = 1.0f, .mirostat = 2, .seed = 3};
  p.texts = toy_texts();
  SamplerChain chain(p, 12);
  std::string text;
  for (int step = 0; step < 200; ++step) {
    std::vector<float> logits(12, 0.0f);
    logits[kCont80] = 4.0f;
    logits[step % 12] += 1.0f;
    text += p.texts->text[static_cast<size_t>(chain.sample(logits))];
  }
  EXPECT_TRUE(utf8::is_valid_prefix(text));
}

}  // namespace
}  // namespace mx
