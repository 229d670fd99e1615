#include "sampling/utf8_guard.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace mx {

std::string_view Utf8Guard::text_of(Token t) const {
  const auto id = static_cast<size_t>(t);
  return t >= 0 && id < texts_->text.size() ? std::string_view(texts_->text[id]) : std::string_view();
}

bool Utf8Guard::allows(Token t) const {
  const std::string_view text = text_of(t);
  const std::string_view open = output_.pending();
  if (open.empty()) {
    const auto id = static_cast<size_t>(t);
    return t >= 0 && id < texts_->valid_prefix.size() ? texts_->valid_prefix[id] != 0 : text.empty();
  }
  if (text.empty()) return false;  // it would end the text (or cut it) inside a character
  std::string joined(open);
  joined += text;
  return utf8::is_valid_prefix(joined);
}

void Utf8Guard::apply(Candidates& c) {
  const auto allowed = [this](const Candidate& x) { return x.logit > -INFINITY && allows(x.id); };
  if (std::none_of(c.items.begin(), c.items.end(), allowed)) return;
  for (Candidate& x : c.items)  // (tokens already ruled out need no check)
    if (x.logit > -INFINITY && !allows(x.id)) x.logit = -INFINITY;
}

void Utf8Guard::accept(Token t) {
  output_.push(text_of(t));  // keeps only the open character, if any
}

}  // namespace mx
