// GPT-2's reversible byte <-> character mapping. Byte-level BPE vocabularies store
// every token as text in which each byte is one printable character: printable
// Latin-1 bytes stand for themselves, the other 68 (controls, space, 0x7F-0xA0, 0xAD)
// are moved to U+0100..U+0143 in byte order, so ' ' is 'Ġ' and '\n' is 'Ċ'.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace mx::byte_map {

namespace detail {

constexpr bool is_printable(int b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Table {
  std::array<std::array<char, 2>, 256> utf8{};  // the character of each byte, UTF-8
  std::array<uint8_t, 256> utf8_len{};
  std::array<int16_t, 0x144> byte_of{};         // code point -> byte, -1 for none
};

constexpr Table make_table() {
  Table t;
  for (auto& b : t.byte_of) b = -1;
  int next = 0x100;
  for (int b = 0; b < 256; ++b) {
    const int cp = is_printable(b) ? b : next++;
    t.byte_of[cp] = static_cast<int16_t>(b);
    if (cp < 0x80) {
      t.utf8[b] = {static_cast<char>(cp), 0};
      t.utf8_len[b] = 1;
    } else {  // all below U+0800: two bytes
      t.utf8[b] = {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
      t.utf8_len[b] = 2;
    }
  }
  return t;
}

inline constexpr Table kTable = make_table();

}  // namespace detail

// The character (as UTF-8, 1 or 2 bytes) that stands for `byte`.
constexpr std::string_view char_of(uint8_t byte) {
  return {detail::kTable.utf8[byte].data(), detail::kTable.utf8_len[byte]};
}

// The byte a code point stands for, or -1 when it is not one of the 256 characters.
constexpr int byte_of(uint32_t code_point) {
  return code_point < detail::kTable.byte_of.size() ? detail::kTable.byte_of[code_point] : -1;
}

}  // namespace mx::byte_map
