// GGUF metadata values: every scalar type, strings, and (nested) arrays.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mx::gguf {

// Numbered as in the GGUF specification.
enum class ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
std::string_view value_type_name(ValueType t);

struct Value;

struct Array {
  ValueType elem_type = ValueType::kU8;
  std::vector<Value> items;
};

// The variant's alternative index equals the ValueType number.
struct Value {
  std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool, std::string,
               Array, uint64_t, int64_t, double>
      data;

  ValueType type() const { return static_cast<ValueType>(data.index()); }

  // Conversions that succeed when the stored type fits; nullopt otherwise.
  std::optional<int64_t> as_int() const;  // any integer type (u64 above INT64_MAX fails)
  std::optional<double> as_float() const;  // any integer or float type
  std::optional<bool> as_bool() const;
  const std::string* as_string() const;
  const Array* as_array() const;

  // Short human-readable form for `moxing info` (arrays are abbreviated).
  std::string to_display_string(size_t max_items = 8) const;
};

}  // namespace mx::gguf
