#include "sampling/grammar_matcher.h"

#include <algorithm>


namespace mx {

namespace {
// Guards against pathological grammars (deep chains of alternatives, great ambiguity):
// stacks beyond these bounds are dropped rather than exhausting memory or time.
constexpr size_t kMaxStacks = 1024;
constexpr int kMaxExpandDepth = 512;
constexpr size_t kMaxStackHeight = 1024;
// Cache bounds: past them a cache starts over (states only when the matcher moves on).
constexpr size_t kMaxSteps = 1u << 20;
constexpr size_t kMaxMasks = 16;
constexpr size_t kMaxStates = 1u << 16;
constexpr int kWideStepBits = 12;  // 4096 recent steps

// Bytes of the character a lead byte starts (0: not a lead byte), and the range its
// second byte must fall in (Unicode Table 3-7: no overlongs, surrogates or > U+10FFFF).
struct Lead {
  uint8_t length, second_lo, second_hi;
};
constexpr Lead lead_of(uint8_t b) {
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}
}  // namespace

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar) : g_(std::move(grammar)) {
  Stacks initial;
  for (uint32_t a = 0; a < g_->rules[g_->root].size(); ++a) expand({{g_->root, a, 0}}, initial);
  cursor_ = Cursor::at(intern(std::move(initial)));
}

void GrammarMatcher::expand(Stack stack, Stacks& out, int depth) const {
  if (depth > kMaxExpandDepth || out.size() > kMaxStacks) return;
  for (;;) {
    if (stack.size() > kMaxStackHeight) return;
    if (stack.empty()) {
      out.push_back(std::move(stack));
      return;
    }
    const Pos top = stack.back();
    const GrammarElement& e = element(top);
    switch (e.kind) {
      case GrammarElement::Kind::kEnd:
        stack.pop_back();  // the rule is done; the caller's continuation is below it
        continue;
      case GrammarElement::Kind::kChars:
        out.push_back(std::move(stack));
        return;
      case GrammarElement::Kind::kRule: {
        stack.back().index++;  // where the caller continues after the rule
        if (element(stack.back()).kind == GrammarElement::Kind::kEnd) stack.pop_back();  // a tail call
        const GrammarRule& rule = g_->rules[e.value];
        for (uint32_t a = 0; a + 1 < rule.size(); ++a) {
          Stack branch = stack;
          branch.push_back({e.value, a, 0});
          expand(std::move(branch), out, depth + 1);
        }
        stack.push_back({e.value, static_cast<uint32_t>(rule.size() - 1), 0});
        continue;
      }
    }
  }
}

GrammarMatcher::Stacks GrammarMatcher::advance(const Stacks& stacks, uint32_t cp) const {
  Stacks out;
  for (const Stack& s : stacks) {
    if (s.empty() || !element(s.back()).matches(cp)) continue;
    Stack next = s;
    next.back().index++;
    expand(std::move(next), out);
    if (out.size() > kMaxStacks) break;
  }
  return out;
}

GrammarMatcher::StateId GrammarMatcher::intern(Stacks stacks) const {
  if (stacks.empty()) return kDead;
  // Canonical order: by a hash of each stack, whole stacks compared only on equal hashes
  // (deep stacks share long bottoms, so sorting by contents would compare them in full).
  std::vector<std::pair<uint64_t, uint32_t>> order(stacks.size());
  for (size_t i = 0; i < stacks.size(); ++i) {
    uint64_t h = 1469598103934665603ull;
    for (const Pos& p : stacks[i]) h = (h ^ (uint64_t{p.rule} << 40 ^ uint64_t{p.alt} << 20 ^ p.index)) * 1099511628211ull;
    order[i] = {h, static_cast<uint32_t>(i)};
  }
  std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : stacks[a.second] < stacks[b.second];
  });
  Stacks sorted;
  sorted.reserve(stacks.size());
  for (size_t i = 0; i < order.size(); ++i)
    if (i == 0 || order[i].first != order[i - 1].first || stacks[order[i].second] != sorted.back())
      sorted.push_back(std::move(stacks[order[i].second]));
  stacks = std::move(sorted);
  std::string key;
  for (const Stack& s : stacks) {
    key.append(reinterpret_cast<const char*>(s.data()), s.size() * sizeof(Pos));
    key.append(sizeof(Pos), '\xff');  // no Pos is all ones: separates the stacks
  }
  const auto [it, added] = state_ids_.try_emplace(std::move(key), static_cast<StateId>(states_.size()));
  if (added) {
    states_.push_back(std::move(stacks));
    ascii_steps_.resize(states_.size() * 128, kUnknown);
  }
  return it->second;
}

GrammarMatcher::StateId GrammarMatcher::step(StateId state, uint32_t cp) const {
  if (cp >= 128) {
    if (wide_steps_.empty()) wide_steps_.resize(size_t{1} << kWideStepBits);
    WideStep& slot = wide_steps_[(cp * 0x9E3779B1u ^ state * 0x85EBCA77u) >> (32 - kWideStepBits)];
    if (slot.state != state || slot.cp != cp) slot = {state, cp, compute_step(state, cp)};
    return slot.next;
  }
  if (ascii_steps_[size_t{state} * 128 + cp] == kUnknown) {
    const StateId next = compute_step(state, cp);
    ascii_steps_[size_t{state} * 128 + cp] = next;  // after the call: it may grow the table
  }
  return ascii_steps_[size_t{state} * 128 + cp];
}

GrammarMatcher::StateId GrammarMatcher::compute_step(StateId state, uint32_t cp) const {
  const Stacks& stacks = states_[state];
  uint64_t key;
  if (stacks.size() <= 32) {
    uint32_t matching = 0;
    for (size_t i = 0; i < stacks.size(); ++i)
      if (!stacks[i].empty() && element(stacks[i].back()).matches(cp)) matching |= 1u << i;
    if (matching == 0) return kDead;
    key = uint64_t{state} << 32 | matching;
  } else {
    key = uint64_t{state} << 32 | cp | uint64_t{1} << 31;  // code points stay below 2^21
  }
  if (const auto it = steps_.find(key); it != steps_.end()) return it->second;
  if (steps_.size() >= kMaxSteps) steps_.clear();
  const StateId next = intern(advance(states_[state], cp));
  steps_.emplace(key, next);
  return next;
}

GrammarMatcher::Cursor GrammarMatcher::step_byte(Cursor c, uint8_t byte) const {
  const size_t count = c.pending_count();
  if (count == 0) {
    if (byte < 0x80) return Cursor::at(step(c.state(), byte));
    return lead_of(byte).length == 0 ? Cursor::at(kDead) : c.with_pending(byte);
  }
  const Lead lead = lead_of(c.pending(0));
  const bool fits = count == 1 ? byte >= lead.second_lo && byte <= lead.second_hi : (byte & 0xC0) == 0x80;
  if (!fits) return Cursor::at(kDead);
  if (count + 1 < lead.length) return c.with_pending(byte);
  uint32_t cp = c.pending(0) & (0xffu >> (lead.length + 1));
  for (size_t i = 1; i < count; ++i) cp = (cp << 6) | (c.pending(i) & 0x3fu);
  cp = (cp << 6) | (byte & 0x3fu);
  return Cursor::at(step(c.state(), cp));
}

bool GrammarMatcher::feed(std::string_view bytes, Cursor& c) const {
  if (c.state() == kDead) return false;
  for (const char b : bytes) {
    c = step_byte(c, static_cast<uint8_t>(b));
    if (c.state() == kDead) return false;
  }
  return ends_token(c);
}

bool GrammarMatcher::pending_allowed(Cursor c) const {
  const auto [it, added] = pending_ok_.try_emplace(c.bits, false);
  if (!added) return it->second;
  // The code points the pending bytes can still become: [lo, hi].
  const uint8_t lead = c.pending(0);
  const size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  uint32_t lo = lead & (0xffu >> (length + 1)), hi = lo;
  for (size_t i = 1; i < length; ++i) {
    const uint32_t byte = i < c.pending_count() ? c.pending(i) & 0x3fu : 0;
    lo = (lo << 6) | byte;
    hi = (hi << 6) | (i < c.pending_count() ? byte : 0x3fu);
  }
  // Overlong forms are not characters: the smallest of each length starts higher.
  const uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  lo = std::max(lo, smallest[length]);
  hi = std::min<uint32_t>(hi, 0x10FFFF);
  const Stacks& stacks = states_[c.state()];
  it->second = std::any_of(stacks.begin(), stacks.end(),
                           [&](const Stack& s) { return !s.empty() && element(s.back()).matches_any(lo, hi); });
  return it->second;
}

bool GrammarMatcher::can_accept(std::string_view bytes) const {
  Cursor c = cursor_;
  return feed(bytes, c);
}

void GrammarMatcher::accept(std::string_view bytes) {
  Cursor c = cursor_;
  if (!feed(bytes, c)) return;
  cursor_ = c;
  if (states_.size() > kMaxStates) {  // start the caches over from the current state
    Stacks current = states_[cursor_.state()];
    states_.clear();
    state_ids_.clear();
    ascii_steps_.clear();
    steps_.clear();
    wide_steps_.clear();
    pending_ok_.clear();
    masks_.clear();
    cursor_ = Cursor::at(intern(std::move(current)));
  }
}

bool GrammarMatcher::is_complete() const {
  if (cursor_.state() == kDead) return false;
  const Stacks& stacks = states_[cursor_.state()];
  return cursor_.pending_count() == 0 && std::any_of(stacks.begin(), stacks.end(), [](const Stack& s) { return s.empty(); });
}

bool GrammarMatcher::can_continue() const {
  if (cursor_.state() == kDead) return false;
  const Stacks& stacks = states_[cursor_.state()];
  return std::any_of(stacks.begin(), stacks.end(), [](const Stack& s) { return !s.empty(); });
}

const std::vector<uint8_t>& GrammarMatcher::allowed_tokens(const TokenTexts& texts) const {
  if (masks_texts_ != &texts) {
    masks_.clear();
    masks_texts_ = &texts;
  }
  if (const auto it = masks_.find(cursor_.bits); it != masks_.end()) return it->second;
  if (masks_.size() >= kMaxMasks) masks_.clear();
  std::vector<uint8_t>& allowed = masks_[cursor_.bits];
  allowed.assign(texts.text.size(), 0);
  if (cursor_.state() == kDead) return allowed;
  // at[d]: the cursor after the first d bytes of the current token; valid up to `known`.
  std::vector<Cursor> at(texts.longest + 1);
  at[0] = cursor_;
  size_t known = 0;
  for (size_t i = 0; i < texts.sorted.size();) {
    const Token id = texts.sorted[i];
    const std::string_view text = texts.sorted_text(i);
    size_t d = std::min<size_t>(texts.common[i], known);
    bool alive = true;
    for (Cursor c = at[d]; d < text.size(); ++d) {
      c = step_byte(c, static_cast<uint8_t>(text[d]));
      if (c.state() == kDead) {
        alive = false;
        break;
      }
      at[d + 1] = c;
    }
    known = d;
    ++i;
    if (alive) {
      allowed[static_cast<size_t>(id)] = ends_token(at[d]);
    } else {  // the first d+1 bytes are rejected: so is every token that starts with them
      while (i < texts.sorted.size() && texts.common[i] > d) ++i;
    }
  }
  return allowed;
}

}  // namespace mx
