// Names in errors come from files: escape what could garble a terminal, cap the length.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace mx::gguf {

inline std::string printable(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7F)
      out += fmt::format("\\x{:02X}", c);
    else
      out += static_cast<char>(c);
  }
  if (s.size() > kMax) out += "...";
  return out;
}

}  // namespace mx::gguf
