// Constants of the GGUF container shared by the reader and the writer, so the writer
// never produces a file the reader would reject.
#pragma once

#include <bit>
#include <cstdint>
#include <string_view>

namespace mx::gguf::format {

// GGUF is little-endian and the reader copies fields straight out of the mapping.
static_assert(std::endian::native == std::endian::little,
              "moxing reads GGUF on little-endian hosts");

inline constexpr std::string_view kMagic = "GGUF";
inline constexpr uint32_t kVersion = 3;  // what the writer emits; the reader accepts 2 and 3
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr std::string_view kAlignmentKey = "general.alignment";
inline constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS
// Real files nest at most two levels; the limit keeps hostile input from recursing deep.
inline constexpr int kMaxArrayDepth = 8;
inline constexpr uint64_t kMaxKeyLength = 65535;  // the specification's limit

// Smallest encodings, used to reject counts that cannot fit before allocating anything.
inline constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;   // key length, 1-byte key, type, u8
inline constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;  // 1-byte name, 1 dim

// Bytes of one scalar of a fixed-size value type; 0 for strings, arrays and unknown types.
constexpr uint64_t scalar_size(uint32_t type) {
  constexpr uint8_t kSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
  return type < sizeof(kSizes) ? kSizes[type] : 0;
}

constexpr bool is_valid_alignment(uint64_t a) { return a != 0 && std::has_single_bit(a); }

constexpr uint64_t align_up(uint64_t x, uint64_t alignment) {
  return (x + alignment - 1) / alignment * alignment;
}

}  // namespace mx::gguf::format
