// The candidate tokens of one sampling step and the interface every sampler implements.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/token.h"

namespace mx {

struct Candidate {
  Token id;
  float logit;
  float p;  // probability, valid after softmax()
};

struct Candidates {
  std::vector<Candidate> items;
  bool sorted = false;  // by logit, descending

  void reset(std::span<const float> logits);  // one candidate per vocabulary entry
  // Only the k largest logits, sorted as top-k leaves them (ties: the lower id first):
  // what reset() and a top-k of k give, without a candidate per vocabulary entry.
  void reset_top(std::span<const float> logits, size_t k);
  void sort_desc();                          // stable: ties keep the lower id first
  void softmax();                            // fills p from logits (sorts first)
  void truncate(size_t n) { if (n < items.size()) items.resize(n); }
};

// One stage of the chain: narrows or reshapes the candidates.
class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::string_view name() const = 0;
  virtual void apply(Candidates& c) = 0;
  virtual void accept(Token) {}  // the token finally chosen, for stateful samplers
};

}  // namespace mx
