#include "sampling/integer_range.h"

#include <string_view>
#include <vector>

#include "core/expected.h"

namespace mx {
namespace {

std::string digit_class(char lo, char hi) {
  if (lo == hi) return std::string("\"") + lo + "\"";
  return std::string("[") + lo + "-" + hi + "]";
}

std::string any_digits(size_t n) {  // exactly n digits
  if (n == 0) return "";
  return n == 1 ? "[0-9]" : "[0-9]{" + std::to_string(n) + "}";
}

// The digit strings of one length n from a to b (a <= b, both n digits), as alternatives.
void same_length(std::string_view a, std::string_view b, const std::string& prefix, std::vector<std::string>& out) {
  const size_t n = a.size();
  if (n == 1) {
    out.push_back(prefix + digit_class(a[0], b[0]));
    return;
  }
  if (a[0] == b[0]) return same_length(a.substr(1), b.substr(1), prefix + "\"" + a[0] + "\" ", out);
  const std::string_view a_rest = a.substr(1), b_rest = b.substr(1);
  const bool a_low = a_rest.find_first_not_of('0') == std::string_view::npos;
  const bool b_high = b_rest.find_first_not_of('9') == std::string_view::npos;
  // The first digit free between a's and b's, the rest any digits; a's and b's own first
  // digits join that run when the rest of a is all 0s or of b all 9s.
  const char lo = a_low ? a[0] : static_cast<char>(a[0] + 1);
  const char hi = b_high ? b[0] : static_cast<char>(b[0] - 1);
  if (!a_low) same_length(a_rest, std::string(n - 1, '9'), prefix + "\"" + a[0] + "\" ", out);
  if (lo <= hi) out.push_back(prefix + digit_class(lo, hi) + " " + any_digits(n - 1));
  if (!b_high) same_length(std::string(n - 1, '0'), b_rest, prefix + "\"" + b[0] + "\" ", out);
}

// Non-negative integers from a to b (b: nullopt = unbounded) without leading zeros.
std::vector<std::string> non_negative(uint64_t a, std::optional<uint64_t> b) {
  std::vector<std::string> out;
  const std::string sa = std::to_string(a);
  const size_t last_len = b ? std::to_string(*b).size() : sa.size();
  for (size_t len = sa.size(); len <= last_len; ++len) {
    const std::string lo = len == sa.size() ? sa : "1" + std::string(len - 1, '0');
    const std::string hi = b && len == last_len ? std::to_string(*b) : std::string(len, '9');
    same_length(lo, hi, "", out);
  }
  if (!b) out.push_back("[1-9] [0-9]{" + std::to_string(sa.size()) + ",}");  // every longer number
  return out;
}

std::string join(const std::vector<std::string>& alts) {
  std::string s;
  for (const std::string& a : alts) s += (s.empty() ? "" : " | ") + ("(" + a + ")");
  return s;
}

// |n| for n <= 0, without overflow at INT64_MIN.
uint64_t magnitude(int64_t n) { return static_cast<uint64_t>(-(n + 1)) + 1; }

}  // namespace

std::string integer_range_gbnf(std::optional<int64_t> min, std::optional<int64_t> max) {
  MX_CHECK(!min || !max || *min <= *max);
  std::vector<std::string> alts;
  // Negative part: "-" then magnitudes from max(1, -max) up to -min.
  if (!min || *min < 0) {
    const uint64_t from = max && *max < 0 ? magnitude(*max) : 1;
    const std::optional<uint64_t> to = min ? std::optional<uint64_t>(magnitude(*min)) : std::nullopt;
    alts.push_back("\"-\" (" + join(non_negative(from, to)) + ")");
  }
  // Non-negative part.
  if (!max || *max >= 0) {
    const uint64_t from = min && *min > 0 ? static_cast<uint64_t>(*min) : 0;
    const std::optional<uint64_t> to = max ? std::optional<uint64_t>(static_cast<uint64_t>(*max)) : std::nullopt;
    alts.push_back(join(non_negative(from, to)));
  }
  return "(" + join(alts) + ")";
}

}  // namespace mx
