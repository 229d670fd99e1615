#include "core/utf8.h"

#include <cstdint>

namespace mx::utf8 {
namespace {

struct Lead {
  size_t length;       // 0: not a lead byte
  uint8_t lo2, hi2;    // allowed range of the second byte (Table 3-7)
};

Lead classify_lead(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};  // excludes overlongs
  if (b == 0xED) return {3, 0x80, 0x9F};  // excludes surrogates
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};  // excludes overlongs
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};  // nothing above U+10FFFF
  return {0, 0, 0};                       // continuation bytes, C0, C1, F5..FF
}

}  // namespace

Scan scan(std::string_view s) {
  const auto b0 = static_cast<uint8_t>(s[0]);
  const Lead lead = classify_lead(b0);
  if (lead.length == 0) return {Status::kInvalid, 1};
  if (lead.length == 1) return {Status::kComplete, 1};
  for (size_t i = 1; i < lead.length; ++i) {
    if (i >= s.size()) return {Status::kIncomplete, i};
    const auto b = static_cast<uint8_t>(s[i]);
    const uint8_t lo = i == 1 ? lead.lo2 : 0x80;
    const uint8_t hi = i == 1 ? lead.hi2 : 0xBF;
    if (b < lo || b > hi) return {Status::kInvalid, i};
  }
  return {Status::kComplete, lead.length};
}

size_t char_length(std::string_view s, size_t pos) {
  const Scan sc = scan(s.substr(pos));
  return sc.status == Status::kComplete ? sc.length : 1;
}

bool is_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const Scan sc = scan(s.substr(i));
    if (sc.status != Status::kComplete) return false;
    i += sc.length;
  }
  return true;
}

bool is_valid_prefix(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const Scan sc = scan(s.substr(i));
    if (sc.status == Status::kInvalid) return false;
    i += sc.length;  // an incomplete character runs to the end
  }
  return true;
}

std::string sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const Scan sc = scan(s.substr(i));
    if (sc.status == Status::kComplete) {
      out.append(s.substr(i, sc.length));
    } else {
      out.append(kReplacement);
    }
    i += sc.length;
  }
  return out;
}

std::string Stream::push(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    const Scan sc = scan(std::string_view(pending_).substr(i));
    if (sc.status == Status::kIncomplete) break;  // wait for the rest of the character
    if (sc.status == Status::kComplete) {
      out.append(pending_, i, sc.length);
    } else {
      out.append(kReplacement);
    }
    i += sc.length;
  }
  pending_.erase(0, i);
  return out;
}

std::string Stream::flush() {
  // What is left is a valid but unfinished prefix: one maximal subpart, one U+FFFD.
  std::string out = pending_.empty() ? std::string() : std::string(kReplacement);
  pending_.clear();
  return out;
}

}  // namespace mx::utf8
