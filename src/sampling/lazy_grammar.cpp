#include "sampling/lazy_grammar.h"

#include <algorithm>

namespace mx {
namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
}  // namespace

TriggerDetector::TriggerDetector(const std::vector<LazyTrigger>& triggers) {
  for (const LazyTrigger& t : triggers)
    for (const std::string& w : t.words) {
      if (w.empty()) continue;  // would fire before any text: not a trigger
      words_.push_back({w, t.at_start_only});
      last_bytes_.set(static_cast<unsigned char>(w.back()));
      longest_ = std::max(longest_, w.size());
    }
}

std::optional<std::string> TriggerDetector::peek(std::string_view text) const {
  if (std::none_of(text.begin(), text.end(), [&](char c) { return last_bytes_[static_cast<unsigned char>(c)]; }))
    return std::nullopt;
  // s = the window and the new text; a trigger that ends in the new text starts in s.
  std::string s = window_;
  s += text;
  const size_t base = total_ - window_.size();  // reply offset of s[0]
  size_t first_text = first_text_;
  if (first_text == npos) {
    const auto it = std::find_if_not(text.begin(), text.end(), is_space);
    if (it != text.end()) first_text = total_ + static_cast<size_t>(it - text.begin());
  }
  size_t best = npos, best_length = 0;
  auto consider = [&](size_t at, size_t length) {
    if (at < best || (at == best && length > best_length)) best = at, best_length = length;
  };
  for (const Word& w : words_) {
    const size_t from = window_.size() + 1 > w.text.size() ? window_.size() + 1 - w.text.size() : 0;
    if (!w.at_start_only) {
      if (const size_t at = s.find(w.text, from); at != npos) consider(at, w.text.size());
    } else if (first_text != npos && first_text >= base + from) {
      const size_t at = first_text - base;
      if (s.compare(at, w.text.size(), w.text) == 0) consider(at, w.text.size());
    }
  }
  if (best == npos) return std::nullopt;
  return s.substr(best);
}

std::optional<std::string> TriggerDetector::feed(std::string_view text) {
  std::optional<std::string> fired = peek(text);
  if (first_text_ == npos) {
    const auto it = std::find_if_not(text.begin(), text.end(), is_space);
    if (it != text.end()) first_text_ = total_ + static_cast<size_t>(it - text.begin());
  }
  total_ += text.size();
  window_ += text;
  const size_t keep = longest_ > 0 ? longest_ - 1 : 0;
  if (window_.size() > keep) window_.erase(0, window_.size() - keep);
  return fired;
}

}  // namespace mx
