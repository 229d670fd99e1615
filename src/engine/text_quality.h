// Measures of degenerate output over a set of generated samples: how varied the tokens
// are (distinct-n), how much of a sample repeats itself (repeated 4-grams, the most
// times one sentence occurs), how often a sample fell into a loop, and broken UTF-8.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/token.h"

namespace mx {

struct Sample {
  std::vector<Token> tokens;
  std::string text;  // as printed
};

struct QualityReport {
  int64_t samples = 0, tokens = 0;
  double distinct[3] = {0, 0, 0};  // distinct-1, -2, -3: unique n-grams / n-grams, per sample, averaged
  double repeated_4gram_rate = 0;  // share of 4-grams that already occurred earlier in their sample
  int max_sentence_repeats = 0;    // most times one sentence occurs in one sample
  double loop_incidence = 0;       // share of samples where the loop detector fires
  int64_t invalid_utf8 = 0;        // U+FFFD characters and ill-formed sequences in the text
};

QualityReport measure_quality(const std::vector<Sample>& samples);

// The most times one sentence (split at . ! ? 。！？ and newlines, trimmed, non-empty) occurs.
int max_sentence_repeats(const std::string& text);

}  // namespace mx
