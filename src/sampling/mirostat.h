// Mirostat (Basu et al.): instead of a fixed cut, steers the surprise of each chosen token
// towards a target tau, learning the cut (mu) as it goes. Version 1 estimates the Zipf
// exponent of the distribution to pick a top-k; version 2 keeps the tokens whose surprise
// is below mu. Either one is the chain's final choice.
#pragma once

#include <cstdint>

#include "core/rng.h"
#include "sampling/candidates.h"

namespace mx {

class Mirostat {
 public:
  Mirostat(int version, float tau, float eta, int64_t n_vocab)
      : version_(version), tau_(tau), eta_(eta), mu_(2.0f * tau), n_vocab_(n_vocab) {}
  Token choose(Candidates& c, Rng& rng);
  float mu() const { return mu_; }

 private:
  int version_;
  float tau_, eta_, mu_;
  int64_t n_vocab_;
};

// A seeded draw from the candidates' probabilities (softmax first).
Token draw(Candidates& c, Rng& rng);

}  // namespace mx
