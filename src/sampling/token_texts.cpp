#include "sampling/token_texts.h"

#include <algorithm>

#include "core/utf8.h"

namespace mx {

TokenTexts::TokenTexts(std::vector<std::string> texts) : text(std::move(texts)) {
  for (size_t id = 0; id < text.size(); ++id)
    if (!text[id].empty()) sorted.push_back(static_cast<Token>(id));
  std::sort(sorted.begin(), sorted.end(), [&](Token a, Token b) { return text[a] < text[b]; });
  common.resize(sorted.size(), 0);
  for (size_t i = 1; i < sorted.size(); ++i) {
    const std::string& a = text[sorted[i - 1]];
    const std::string& b = text[sorted[i]];
    const auto diff = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
    common[i] = static_cast<uint32_t>(diff.first - a.begin());
  }
  sorted_offset.push_back(0);
  for (const Token id : sorted) {
    sorted_bytes += text[static_cast<size_t>(id)];
    sorted_offset.push_back(static_cast<uint32_t>(sorted_bytes.size()));
  }
  valid_prefix.reserve(text.size());
  for (const std::string& t : text) {
    longest = std::max(longest, t.size());
    valid_prefix.push_back(utf8::is_valid_prefix(t));
  }
}

}  // namespace mx
