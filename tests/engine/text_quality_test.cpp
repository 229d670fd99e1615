#include "engine/text_quality.h"

#include <gtest/gtest.h>

namespace mx {
namespace {

TEST(TextQuality, SentenceRepeats) {
  EXPECT_EQ(max_sentence_repeats("They wanted to play with the box. They wanted to play with the box. The end."), 2);
  EXPECT_EQ(max_sentence_repeats("提高可靠性。提高可靠性。提高可靠性！"), 2);  // the last ends with ！, another sentence
  EXPECT_EQ(max_sentence_repeats("One.\nTwo.\nOne."), 2);
  EXPECT_EQ(max_sentence_repeats(""), 0);
}

TEST(TextQuality, DistinctRepeatsLoopsAndBrokenText) {
  Sample varied{{1, 2, 3, 4, 5, 6, 7, 8}, "fine text"};
  Sample looping{std::vector<Token>(40, 9), "aaaa\xEF\xBF\xBD\xFF"};  // U+FFFD and a stray byte
  const QualityReport v = measure_quality({varied});
  EXPECT_DOUBLE_EQ(v.distinct[0], 1.0);
  EXPECT_DOUBLE_EQ(v.distinct[2], 1.0);
  EXPECT_DOUBLE_EQ(v.repeated_4gram_rate, 0.0);
  EXPECT_DOUBLE_EQ(v.loop_incidence, 0.0);
  EXPECT_EQ(v.invalid_utf8, 0);
  const QualityReport both = measure_quality({varied, looping});
  EXPECT_DOUBLE_EQ(both.loop_incidence, 0.5);
  EXPECT_EQ(both.invalid_utf8, 2);
  EXPECT_NEAR(both.distinct[0], (1.0 + 1.0 / 40) / 2, 1e-12);
  EXPECT_NEAR(both.repeated_4gram_rate, (0.0 + 36.0 / 37) / 2, 1e-12);
}

}  // namespace
}  // namespace mx
