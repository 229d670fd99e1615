// Tensor element types as numbered in GGUF (ggml_type), with their block geometry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace mx {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ4_NL = 20,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kBF16 = 30,
  kMXFP4 = 39,  // gpt-oss's expert weights
};

// Geometry of one type: `block_size` elements are stored in `type_size` bytes.
struct TypeTraits {
  GgmlType type;
  std::string_view name;
  uint32_t block_size;
  uint32_t type_size;
};

// nullopt for type numbers moxing does not know (the GGUF reader rejects those).
std::optional<TypeTraits> type_traits(uint32_t raw_type);
const TypeTraits& traits(GgmlType type);  // for known types only
inline std::string_view type_name(GgmlType t) { return traits(t).name; }
std::optional<GgmlType> type_from_name(std::string_view name);  // "Q8_0", "f16", ...

// Bytes of a row of `n` elements; n must be a multiple of the block size.
inline size_t row_size(GgmlType t, int64_t n) {
  const TypeTraits& tr = traits(t);
  return static_cast<size_t>(n / tr.block_size) * tr.type_size;
}

}  // namespace mx
