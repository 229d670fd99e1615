// Builds GGUF bytes field by field, so tests can write files the Writer refuses to make.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mx::test {

class RawGguf {
 public:
  std::string magic = "GGUF";
  uint32_t version = 3;
  std::optional<uint64_t> n_tensors_override, n_kv_override;  // lie about the counts
  uint32_t pad_to = 32;       // alignment of the data section the bytes are padded to
  std::vector<uint8_t> data;  // the data section, after the padded header

  template <class T>
  static void put(std::vector<uint8_t>& out, T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
  }
  static void put_str(std::vector<uint8_t>& out, std::string_view s) {
    put(out, static_cast<uint64_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }

  // A key with any type number and raw payload bytes.
  RawGguf& kv(std::string_view key, uint32_t type, const std::vector<uint8_t>& payload) {
    put_str(kvs_, key);
    put(kvs_, type);
    kvs_.insert(kvs_.end(), payload.begin(), payload.end());
    ++n_kv_;
    return *this;
  }
  template <class T>
  RawGguf& kv_scalar(std::string_view key, uint32_t type, T v) {
    std::vector<uint8_t> payload;
    put(payload, v);
    return kv(key, type, payload);
  }
  RawGguf& kv_string(std::string_view key, std::string_view s) {
    std::vector<uint8_t> payload;
    put_str(payload, s);
    return kv(key, 8, payload);
  }
  RawGguf& tensor(std::string_view name, const std::vector<uint64_t>& dims, uint32_t type,
                  uint64_t offset) {
    put_str(infos_, name);
    put(infos_, static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) put(infos_, d);
    put(infos_, type);
    put(infos_, offset);
    ++n_tensors_;
    return *this;
  }

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out(magic.begin(), magic.end());
    put(out, version);
    put(out, n_tensors_override.value_or(n_tensors_));
    put(out, n_kv_override.value_or(n_kv_));
    out.insert(out.end(), kvs_.begin(), kvs_.end());
    out.insert(out.end(), infos_.begin(), infos_.end());
    out.resize((out.size() + pad_to - 1) / pad_to * pad_to, 0);
    out.insert(out.end(), data.begin(), data.end());
    return out;
  }

 private:
  std::vector<uint8_t> kvs_, infos_;
  uint64_t n_kv_ = 0, n_tensors_ = 0;
};

}  // namespace mx::test
