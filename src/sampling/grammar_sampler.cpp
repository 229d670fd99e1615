#include "sampling/grammar_sampler.h"

#include <algorithm>
#include <cmath>

namespace mx {

GrammarSampler::GrammarSampler(GrammarConstraint constraint)
    : c_(std::move(constraint)), matcher_(c_.grammar) {
  std::sort(c_.end_tokens.begin(), c_.end_tokens.end());
  if (!c_.triggers.empty()) {
    // Only words the grammar can begin with: text the grammar rejects from its first byte
    // cannot be handed to it, so such a word leaves the output free.
    std::vector<LazyTrigger> live = c_.triggers;
    for (LazyTrigger& t : live)
      std::erase_if(t.words, [&](const std::string& w) { return !matcher_.can_accept(w); });
    waiting_.emplace(live);
    for (const LazyTrigger& t : c_.triggers) trigger_tokens_.insert(trigger_tokens_.end(), t.tokens.begin(), t.tokens.end());
    std::sort(trigger_tokens_.begin(), trigger_tokens_.end());
  }
}

bool GrammarSampler::is_trigger_token(Token t) const {
  return std::binary_search(trigger_tokens_.begin(), trigger_tokens_.end(), t);
}

bool GrammarSampler::is_end(Token t) const {
  return std::binary_search(c_.end_tokens.begin(), c_.end_tokens.end(), t);
}

bool GrammarSampler::free_text_allows(std::string_view text) const {
  const std::optional<std::string> start = waiting_->peek(text);
  return !start || matcher_.can_accept(*start);
}

bool GrammarSampler::allows(Token t) const {
  if (waiting_) {
    if (is_end(t) || t < 0 || static_cast<size_t>(t) >= c_.token_texts->text.size()) return true;
    const std::string& text = c_.token_texts->text[static_cast<size_t>(t)];
    if (is_trigger_token(t)) return matcher_.can_accept(text);
    return free_text_allows(text);
  }
  if (is_end(t)) return matcher_.is_complete();
  if (t < 0 || static_cast<size_t>(t) >= c_.token_texts->text.size()) return false;
  const std::string& text = c_.token_texts->text[static_cast<size_t>(t)];
  return !text.empty() && matcher_.can_accept(text);
}

void GrammarSampler::apply(Candidates& c) {
  if (waiting_) {
    // Candidates are left as they are (sorted stays true) unless a token is refused.
    for (Candidate& x : c.items)
      if (x.logit > -INFINITY && !allows(x.id)) {
        x.logit = -INFINITY;
        c.sorted = false;
      }
    return;
  }
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
  if (t < 0 || static_cast<size_t>(t) >= c_.token_texts->text.size()) return;
  const std::string& text = c_.token_texts->text[static_cast<size_t>(t)];
  if (waiting_ && is_trigger_token(t) && matcher_.can_accept(text)) {
    matcher_.accept(text);
    waiting_.reset();
    return;
  }
  accept_bytes(text);
}

void GrammarSampler::accept_bytes(std::string_view bytes) {
  if (!waiting_) {
    matcher_.accept(bytes);
    return;
  }
  // A trigger whose continuation the grammar rejects (text apply() would have refused)
  // leaves the output free, as if it were no trigger.
  if (const std::optional<std::string> start = waiting_->feed(bytes); start && matcher_.can_accept(*start)) {
    matcher_.accept(*start);
    waiting_.reset();
  }
}

}  // namespace mx
