// Writes a copy of a GGUF file with metadata keys set or removed and tensors added, removed
// or given other dims: hostile and variant files made from the real ones in ../shared.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "core/rng.h"
#include "quant/quant.h"

namespace mx::test {

struct GgufEdit {
  struct NewTensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> dims;
    std::vector<uint8_t> data;
  };
  std::pair<std::string, std::string> rename_prefix;     // keys starting with .first get .second
  std::vector<std::pair<std::string, gguf::Value>> set;  // added, or replacing the file's
  std::vector<std::string> erase;                        // keys dropped
  std::vector<std::string> drop_tensors;
  std::map<std::string, std::string> rename_tensors;     // same data under another name
  std::map<std::string, std::vector<int64_t>> reshape;  // same bytes, other dims
  std::vector<NewTensor> add_tensors;                    // after the file's own

  GgufEdit& with(std::string key, gguf::Value v) {
    set.emplace_back(std::move(key), std::move(v));
    return *this;
  }
};

inline std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(v.data());
  return {p, p + v.size() * sizeof(float)};
}

// n values drawn from N(0, sigma²), the same on every platform (seeded xoshiro, Box-Muller).
inline std::vector<float> normal_values(int64_t n, float sigma, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) {
    const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
    x = static_cast<float>(sigma * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
  }
  return v;
}

// A random tensor of dims (ne0 first), stored as F32 or F16.
inline GgufEdit::NewTensor random_tensor(std::string name, std::vector<int64_t> dims, GgmlType type, float sigma,
                                         uint64_t seed) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  const std::vector<float> v = normal_values(n, sigma, seed);
  if (type == GgmlType::kF32) return {std::move(name), type, std::move(dims), f32_bytes(v)};
  std::vector<uint8_t> bytes(static_cast<size_t>(n) * 2);
  f32_to_f16_row(v.data(), reinterpret_cast<uint16_t*>(bytes.data()), n);
  return {std::move(name), GgmlType::kF16, std::move(dims), std::move(bytes)};
}

inline Status write_edited(const std::string& src, const GgufEdit& edit, const std::string& dst) {
  auto file = gguf::File::open(src);
  if (!file) return file.error();
  gguf::Writer w(file->alignment());
  auto listed = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  const auto& [from, to] = edit.rename_prefix;
  for (const auto& kv : file->metadata()) {
    if (listed(edit.erase, kv.key) || kv.key == "general.alignment") continue;
    const bool renamed = !from.empty() && kv.key.compare(0, from.size(), from) == 0;
    w.set(renamed ? to + kv.key.substr(from.size()) : kv.key, kv.value);
  }
  for (const auto& [key, value] : edit.set) w.set(key, value);
  for (const auto& t : file->tensors()) {
    if (listed(edit.drop_tensors, t.name)) continue;
    const auto renamed = edit.rename_tensors.find(t.name);
    const auto it = edit.reshape.find(t.name);
    w.add_tensor(renamed == edit.rename_tensors.end() ? t.name : renamed->second, t.type, it == edit.reshape.end() ? t.dims : it->second,
                 std::vector<uint8_t>(t.data, t.data + t.n_bytes));
  }
  for (const auto& t : edit.add_tensors) w.add_tensor(t.name, t.type, t.dims, t.data);
  return w.write_file(dst);
}

}  // namespace mx::test
