#include "engine/stop_sequences.h"

#include <gtest/gtest.h>

#include <random>

namespace mx {
namespace {

// Feeds `chunks` one at a time; returns everything released (push + flush).
std::string stream(StopMatcher& m, const std::vector<std::string>& chunks) {
  std::string out;
  for (const auto& c : chunks) out += m.push(c);
  return out + m.flush();
}

TEST(StopMatcher, StopsBeforeTheMatchAcrossChunks) {
  StopMatcher m({"User:"});
  EXPECT_EQ(m.push("Hello. Us"), "Hello. ");  // "Us" could start "User:"
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.push("er: more"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.matched(), "User:");
  EXPECT_EQ(m.push("ignored"), "");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, ReleasesHeldTextWhenItCannotMatch) {
  StopMatcher m({"User:"});
  EXPECT_EQ(m.push("a Us"), "a ");
  EXPECT_EQ(m.push("ed"), "Used");
  EXPECT_EQ(m.push("U"), "");
  EXPECT_EQ(m.flush(), "U");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, EarliestMatchWinsThenLongest) {
  StopMatcher a({"world", "lo"});
  EXPECT_EQ(a.push("hello world"), "hel");
  EXPECT_EQ(a.matched(), "lo");
  StopMatcher b({"\n", "\n\n"});
  EXPECT_EQ(b.push("a\n\nb"), "a");
  EXPECT_EQ(b.matched(), "\n\n");
}

TEST(StopMatcher, NoStopsPassesEverythingThrough) {
  StopMatcher m({});
  EXPECT_EQ(m.push("abc"), "abc");
  StopMatcher empty_only({""});
  EXPECT_EQ(empty_only.push("abc"), "abc");
  EXPECT_FALSE(empty_only.stopped());
}

TEST(StopMatcher, MultiByteStopIsNeverSplitInOutput) {
  StopMatcher m({"你好"});
  EXPECT_EQ(m.push("说你"), "说");  // "你" is held: it starts the stop string
  EXPECT_EQ(m.push("们"), "你们");
  EXPECT_EQ(m.push("你好吗"), "");
  EXPECT_TRUE(m.stopped());
}

// Any way of cutting the text into chunks releases the same text as one push, and
// nothing released ever contains a stop string.
TEST(StopMatcher, ChunkingDoesNotChangeTheResult) {
  std::mt19937 rng(11);
  const std::vector<std::string> stops = {"</end>", "##", "abcabd"};
  const std::string alphabet = "abcd#</end> ";
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    const int len = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < len; ++i) text += alphabet[rng() % alphabet.size()];
    StopMatcher whole(stops);
    const std::string want = stream(whole, {text});
    std::vector<std::string> chunks;
    for (size_t i = 0; i < text.size();) {
      const size_t n = 1 + rng() % 4;
      chunks.push_back(text.substr(i, n));
      i += n;
    }
    StopMatcher parts(stops);
    EXPECT_EQ(stream(parts, chunks), want) << text;
    EXPECT_EQ(parts.stopped(), whole.stopped()) << text;
    for (const auto& s : stops) EXPECT_EQ(want.find(s), std::string::npos) << text;
    if (!whole.stopped()) EXPECT_EQ(want, text);
  }
}

}  // namespace
}  // namespace mx
