// Writes a copy of a GGUF file with metadata keys set or removed and tensors added, removed
// or given other dims: hostile and variant files made from the real ones in ../shared.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"

namespace mx::test {

struct GgufEdit {
  struct NewTensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> dims;
    std::vector<uint8_t> data;
  };
  std::vector<std::pair<std::string, gguf::Value>> set;  // added, or replacing the file's
  std::vector<std::string> erase;                        // keys dropped
  std::vector<std::string> drop_tensors;
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

inline Status write_edited(const std::string& src, const GgufEdit& edit, const std::string& dst) {
  auto file = gguf::File::open(src);
  if (!file) return file.error();
  gguf::Writer w(file->alignment());
  auto listed = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  for (const auto& kv : file->metadata())
    if (!listed(edit.erase, kv.key) && kv.key != "general.alignment") w.set(kv.key, kv.value);
  for (const auto& [key, value] : edit.set) w.set(key, value);
  for (const auto& t : file->tensors()) {
    if (listed(edit.drop_tensors, t.name)) continue;
    const auto it = edit.reshape.find(t.name);
    w.add_tensor(t.name, t.type, it == edit.reshape.end() ? t.dims : it->second,
                 std::vector<uint8_t>(t.data, t.data + t.n_bytes));
  }
  for (const auto& t : edit.add_tensors) w.add_tensor(t.name, t.type, t.dims, t.data);
  return w.write_file(dst);
}

}  // namespace mx::test
