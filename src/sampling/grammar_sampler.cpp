#include "sampling/grammar_sampler.h"

#include <algorithm>
#include <cmath>

namespace mx {

GrammarSampler::GrammarSampler(GrammarConstraint constraint)
    : c_(std::move(constraint)), matcher_(c_.grammar) {
  std::sort(c_.end_tokens.begin(), c_.end_tokens.end());
}

bool GrammarSampler::is_end(Token t) const {
  return std::binary_search(c_.end_tokens.begin(), c_.end_tokens.end(), t);
}

bool GrammarSampler::allows(Token t) const {
  if (is_end(t)) return matcher_.is_complete();
  if (t < 0 || static_cast<size_t>(t) >= c_.token_texts->text.size()) return false;
  const std::string& text = c_.token_texts->text[static_cast<size_t>(t)];
  return !text.empty() && matcher_.can_accept(text);
}

void GrammarSampler::apply(Candidates& c) {
  const std::vector<uint8_t>& allowed = matcher_.allowed_tokens(*c_.token_texts);
  const bool complete = matcher_.is_complete();
  for (Candidate& x : c.items) {
    const bool ok = is_end(x.id) ? complete
                                 : x.id >= 0 && static_cast<size_t>(x.id) < allowed.size() && allowed[static_cast<size_t>(x.id)];
    if (!ok) x.logit = -INFINITY;
  }
  c.sorted = false;
}

void GrammarSampler::accept(Token t) {
  if (is_end(t)) return;
  matcher_.accept(c_.token_texts->text[static_cast<size_t>(t)]);
}

}  // namespace mx
