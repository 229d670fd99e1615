// A small file with every value type, nested and empty arrays, and tensors of several
// types and ranks: the round-trip, truncation and fuzz tests all start from it.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"

namespace mx::test {

// Deterministic, tensor-specific bytes, so a swapped or shifted tensor is noticed.
inline std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(i * 31 + seed * 7 + 1);
  return out;
}

inline gguf::Value array_of(gguf::ValueType t, std::vector<gguf::Value> items) {
  return gguf::Value{gguf::Array{t, std::move(items)}};
}

inline std::vector<std::pair<std::string, gguf::Value>> sample_metadata() {
  using gguf::Value;
  using gguf::ValueType;
  const Value inner_a = array_of(ValueType::kU8, {Value{uint8_t{1}}, Value{uint8_t{2}}});
  const Value inner_empty = array_of(ValueType::kU8, {});
  const Value strings =
      array_of(ValueType::kString, {Value{std::string("a")}, Value{std::string()}});
  return {
      {"general.architecture", Value{std::string("llama")}},
      {"t.u8", Value{uint8_t{200}}},
      {"t.i8", Value{int8_t{-5}}},
      {"t.u16", Value{uint16_t{60000}}},
      {"t.i16", Value{int16_t{-30000}}},
      {"t.u32", Value{uint32_t{4000000000u}}},
      {"t.i32", Value{int32_t{-2000000000}}},
      {"t.f32", Value{1.5f}},
      {"t.bool", Value{true}},
      {"t.string", Value{std::string("hello \xE4\xB8\xAD")}},
      {"t.empty_string", Value{std::string()}},
      {"t.u64", Value{(uint64_t{1} << 63) + 5}},
      {"t.i64", Value{-(int64_t{1} << 62)}},
      {"t.f64", Value{3.25}},
      {"t.i32s", array_of(ValueType::kI32, {Value{1}, Value{2}, Value{3}})},
      {"t.bools", array_of(ValueType::kBool, {Value{true}, Value{false}})},
      {"t.empty_array", array_of(ValueType::kString, {})},
      {"t.strings", strings},
      {"t.nested", array_of(ValueType::kArray, {inner_a, inner_empty, inner_a})},
      {"t.nested3", array_of(ValueType::kArray, {array_of(ValueType::kArray, {strings})})},
  };
}

struct SampleTensor {
  std::string name;
  GgmlType type;
  std::vector<int64_t> dims;
  size_t n_bytes;
};

inline std::vector<SampleTensor> sample_tensors() {
  return {
      {"f32.weight", GgmlType::kF32, {8, 3}, 8 * 3 * 4},
      {"f16.vec", GgmlType::kF16, {5}, 10},  // not a multiple of the alignment: padding follows
      {"q8.weight", GgmlType::kQ8_0, {64, 2}, 2 * 2 * 34},
      {"q4.weight", GgmlType::kQ4_0, {32, 3, 2}, 6 * 18},
      {"i32.4d", GgmlType::kI32, {2, 1, 3, 2}, 12 * 4},
  };
}

inline gguf::Writer sample_writer(uint32_t alignment = 32) {
  gguf::Writer w(alignment);
  for (auto& [k, v] : sample_metadata()) w.set(k, v);
  uint8_t seed = 0;
  for (const SampleTensor& t : sample_tensors())
    w.add_tensor(t.name, t.type, t.dims, pattern(t.n_bytes, seed++));
  return w;
}

// Values are compared exactly, arrays item by item (Array has no operator==).
inline bool same_value(const gguf::Value& a, const gguf::Value& b) {
  if (a.type() != b.type()) return false;
  if (const gguf::Array* x = a.as_array()) {
    const gguf::Array* y = b.as_array();
    if (x->elem_type != y->elem_type || x->items.size() != y->items.size()) return false;
    for (size_t i = 0; i < x->items.size(); ++i)
      if (!same_value(x->items[i], y->items[i])) return false;
    return true;
  }
  return std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, gguf::Array>)
          return false;  // handled above
        else
          return v == std::get<T>(b.data);
      },
      a.data);
}

// Reads everything a consumer might: every value, every tensor's first and last byte.
inline size_t walk(const gguf::File& f) {
  size_t sum = 0;
  for (const gguf::KeyValue& kv : f.metadata()) sum += kv.value.to_display_string().size();
  for (const gguf::TensorInfo& t : f.tensors()) sum += t.data[0] + t.data[t.n_bytes - 1];
  return sum;
}

}  // namespace mx::test
