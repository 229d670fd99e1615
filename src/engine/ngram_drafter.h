// Draft-free speculation ("prompt lookup"): when the last few tokens appeared earlier in the
// prompt or the text so far, propose what followed them then. Pays off where the output
// repeats its input: rewriting, editing code, quoting, summarising with the source's words.
#pragma once

#include "engine/drafter.h"

namespace mx {

class NgramDrafter final : public Drafter {
 public:
  explicit NgramDrafter(SpeculationParams params) : Drafter(params) {}

 protected:
  void draft(std::span<const Token> context, int max_tokens, std::vector<Token>& out) override;
};

}  // namespace mx
