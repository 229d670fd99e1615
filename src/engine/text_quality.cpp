#include "engine/text_quality.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

#include "engine/loop_guard.h"
#include "core/utf8.h"

namespace mx {
namespace {

double distinct_n(const std::vector<Token>& t, size_t n) {
  if (t.size() < n) return 1.0;
  std::set<std::vector<Token>> seen;
  for (size_t i = 0; i + n <= t.size(); ++i) seen.emplace(t.begin() + static_cast<ptrdiff_t>(i), t.begin() + static_cast<ptrdiff_t>(i + n));
  return static_cast<double>(seen.size()) / static_cast<double>(t.size() - n + 1);
}

double repeated_4grams(const std::vector<Token>& t) {
  if (t.size() < 4) return 0.0;
  std::set<std::vector<Token>> seen;
  size_t repeated = 0;
  for (size_t i = 0; i + 4 <= t.size(); ++i)
    if (!seen.emplace(t.begin() + static_cast<ptrdiff_t>(i), t.begin() + static_cast<ptrdiff_t>(i + 4)).second) ++repeated;
  return static_cast<double>(repeated) / static_cast<double>(t.size() - 3);
}

int64_t invalid_utf8(const std::string& s) {
  int64_t bad = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    const auto scan = utf8::scan(std::string_view(s).substr(pos));
    if (scan.status != utf8::Status::kComplete) ++bad;
    else if (std::string_view(s).substr(pos, scan.length) == utf8::kReplacement) ++bad;
    pos += std::max<size_t>(1, scan.length);
  }
  return bad;
}

bool has_loop(const std::vector<Token>& t) {
  LoopDetector d;
  for (Token x : t)
    if (d.push(x)) return true;
  return false;
}

}  // namespace

int max_sentence_repeats(const std::string& text) {
  std::map<std::string, int> counts;
  int best = 0;
  size_t start = 0;
  auto add = [&](size_t end) {
    std::string_view s = std::string_view(text).substr(start, end - start);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '"')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '"')) s.remove_suffix(1);
    if (!s.empty()) best = std::max(best, ++counts[std::string(s)]);
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    size_t end_len = 0;
    if (c == '.' || c == '!' || c == '?' || c == '\n') end_len = 1;
    for (std::string_view mark : {"\xE3\x80\x82", "\xEF\xBC\x81", "\xEF\xBC\x9F"})  // 。！？
      if (std::string_view(text).substr(i, mark.size()) == mark) end_len = mark.size();
    if (end_len == 0) continue;
    add(c == '\n' ? i : i + end_len);  // the sentence keeps its end mark
    start = i + end_len;
    i += end_len - 1;
  }
  add(text.size());
  return best;
}

QualityReport measure_quality(const std::vector<Sample>& samples) {
  QualityReport r;
  r.samples = static_cast<int64_t>(samples.size());
  if (samples.empty()) return r;
  int loops = 0;
  for (const Sample& s : samples) {
    r.tokens += static_cast<int64_t>(s.tokens.size());
    for (size_t n = 1; n <= 3; ++n) r.distinct[n - 1] += distinct_n(s.tokens, n);
    r.repeated_4gram_rate += repeated_4grams(s.tokens);
    r.max_sentence_repeats = std::max(r.max_sentence_repeats, max_sentence_repeats(s.text));
    loops += has_loop(s.tokens);
    r.invalid_utf8 += invalid_utf8(s.text);
  }
  const double n = static_cast<double>(samples.size());
  for (double& d : r.distinct) d /= n;
  r.repeated_4gram_rate /= n;
  r.loop_incidence = loops / n;
  return r;
}

}  // namespace mx
