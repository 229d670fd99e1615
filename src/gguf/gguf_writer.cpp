#include "gguf/gguf_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_set>

#include "gguf/format.h"

namespace mx::gguf {
namespace {

// Appends little-endian fields to a byte vector.
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}

  template <class T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out_.insert(out_.end(), p, p + sizeof(T));
  }
  void put_string(std::string_view s) {
    put(static_cast<uint64_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  // The payload only: the caller writes the type (arrays write their element type once).
  void put_payload(const Value& v) {
    std::visit(
        [this](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::string>) {
            put_string(x);
          } else if constexpr (std::is_same_v<T, Array>) {
            put(static_cast<uint32_t>(x.elem_type));
            put(static_cast<uint64_t>(x.items.size()));
            for (const Value& item : x.items) put_payload(item);
          } else if constexpr (std::is_same_v<T, bool>) {
            put(static_cast<uint8_t>(x ? 1 : 0));
          } else {
            put(x);
          }
        },
        v.data);
  }
  void pad_to(uint64_t alignment) { out_.resize(format::align_up(out_.size(), alignment), 0); }

 private:
  std::vector<uint8_t>& out_;
};

// Arrays are homogeneous in GGUF; a Value built in code may not be.
Status check_value(const Value& v, std::string_view key, int depth) {
  const Array* a = v.as_array();
  if (!a) return {};
  if (depth + 1 > format::kMaxArrayDepth)
    return make_error("gguf writer: key '{}': arrays nested deeper than {} levels", key,
                      format::kMaxArrayDepth);
  for (const Value& item : a->items) {
    if (item.type() != a->elem_type)
      return make_error("gguf writer: key '{}': a {} item in an array of {}", key,
                        value_type_name(item.type()), value_type_name(a->elem_type));
    if (Status s = check_value(item, key, depth + 1); !s) return s;
  }
  return {};
}

Expected<uint64_t> tensor_bytes(std::string_view name, GgmlType type,
                                const std::vector<int64_t>& dims) {
  const std::optional<TypeTraits> tr = type_traits(static_cast<uint32_t>(type));
  if (!tr)
    return make_error("gguf writer: tensor '{}': unknown type {}", name,
                      static_cast<uint32_t>(type));
  if (dims.empty() || dims.size() > format::kMaxDims)
    return make_error("gguf writer: tensor '{}': {} dims, expected 1..{}", name, dims.size(),
                      format::kMaxDims);
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 1) return make_error("gguf writer: tensor '{}': dimension {} is not positive", name, d);
    if (__builtin_mul_overflow(n, d, &n))
      return make_error("gguf writer: tensor '{}': element count overflows", name);
  }
  if (dims[0] % tr->block_size != 0)
    return make_error(
        "gguf writer: tensor '{}': row length {} is not a multiple of the {} block "
        "size {}",
        name, dims[0], tr->name, tr->block_size);
  uint64_t bytes = 0;  // every row is whole blocks
  const uint64_t n_blocks = static_cast<uint64_t>(n) / tr->block_size;
  if (__builtin_mul_overflow(n_blocks, uint64_t{tr->type_size}, &bytes))
    return make_error("gguf writer: tensor '{}': byte size overflows", name);
  return bytes;
}

// Owns the temporary file; removes it unless the write completed and was renamed.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {
    f_ = std::fopen(path_.c_str(), "wb");
  }
  ~TempFile() {
    if (f_) std::fclose(f_);
    if (!committed_) std::remove(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  bool is_open() const { return f_ != nullptr; }
  bool write(const void* p, size_t n) { return n == 0 || std::fwrite(p, 1, n, f_) == n; }
  bool write_zeros(uint64_t n) {
    static constexpr uint8_t kZeros[4096] = {};
    for (; n > 0; n -= std::min<uint64_t>(n, sizeof(kZeros)))
      if (!write(kZeros, std::min<uint64_t>(n, sizeof(kZeros)))) return false;
    return true;
  }
  bool close() {
    const bool ok = std::fclose(f_) == 0;
    f_ = nullptr;
    return ok;
  }
  void commit() { committed_ = true; }

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
  bool committed_ = false;
};

}  // namespace

Writer::Writer(uint32_t alignment) : alignment_(alignment) {}

void Writer::set(std::string key, Value value) {
  for (auto& [k, v] : kvs_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  kvs_.emplace_back(std::move(key), std::move(value));
}

void Writer::add_tensor(std::string name, GgmlType type, std::vector<int64_t> dims,
                        Producer produce) {
  tensors_.push_back({std::move(name), type, std::move(dims), std::move(produce), std::nullopt});
}

void Writer::add_tensor(std::string name, GgmlType type, std::vector<int64_t> dims,
                        std::vector<uint8_t> data) {
  const size_t size = data.size();
  // std::function must be copyable; the bytes are shared, not copied.
  auto bytes = std::make_shared<const std::vector<uint8_t>>(std::move(data));
  Producer produce = [bytes](std::span<uint8_t> out) {
    std::copy_n(bytes->begin(), std::min(out.size(), bytes->size()), out.begin());
  };
  tensors_.push_back({std::move(name), type, std::move(dims), std::move(produce), size});
}

Expected<Writer::Layout> Writer::layout() const {
  if (!format::is_valid_alignment(alignment_))
    return make_error("gguf writer: alignment {} is not a nonzero power of two", alignment_);
  for (const auto& [key, value] : kvs_) {
    if (key.empty() || key.size() > format::kMaxKeyLength)
      return make_error("gguf writer: key length {} is outside 1..{}", key.size(),
                        format::kMaxKeyLength);
    if (key == format::kAlignmentKey) {
      const auto* a = std::get_if<uint32_t>(&value.data);
      if (!a || *a != alignment_)
        return make_error("gguf writer: {} = {} disagrees with the writer's alignment {}", key,
                          value.to_display_string(), alignment_);
    }
    if (Status s = check_value(value, key, 0); !s) return s.error();
  }
  Layout out;
  std::unordered_set<std::string_view> names;
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    if (t.name.empty() || t.name.size() > format::kMaxKeyLength)
      return make_error("gguf writer: tensor name length {} is outside 1..{}", t.name.size(),
                        format::kMaxKeyLength);
    if (!names.insert(t.name).second)
      return make_error("gguf writer: duplicate tensor name '{}'", t.name);
    if (!t.produce) return make_error("gguf writer: tensor '{}' has no data producer", t.name);
    uint64_t n_bytes = 0;
    MX_TRY_ASSIGN(n_bytes, tensor_bytes(t.name, t.type, t.dims));
    if (t.given_bytes && *t.given_bytes != n_bytes)
      return make_error("gguf writer: tensor '{}': {} bytes of data given, a {} [{}] needs {}",
                        t.name, *t.given_bytes, type_name(t.type), fmt::join(t.dims, ", "),
                        n_bytes);
    out.n_bytes.push_back(n_bytes);
    out.offsets.push_back(offset);
    constexpr uint64_t kLimit = std::numeric_limits<uint64_t>::max() / 2;  // room to align
    if (offset > kLimit || n_bytes > kLimit - offset)
      return make_error("gguf writer: tensor '{}': the data section size overflows", t.name);
    offset = format::align_up(offset + n_bytes, alignment_);
  }
  return out;
}

Expected<std::vector<uint64_t>> Writer::tensor_file_bytes() const {
  Layout l;
  MX_TRY_ASSIGN(l, layout());
  std::vector<uint64_t> out;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const PendingTensor& t = tensors_[i];
    const uint64_t entry = 8 + t.name.size() + 4 + 8 * t.dims.size() + 4 + 8;  // name, n_dims, dims, type, offset
    out.push_back(entry + format::align_up(l.n_bytes[i], alignment_));
  }
  return out;
}

uint64_t Writer::keys_bytes() const { return slice(0, 0, true).header_bytes(Layout{}).size(); }

Writer Writer::slice(size_t begin, size_t end, bool with_keys) const {
  Writer out(alignment_);
  if (with_keys) out.kvs_ = kvs_;
  end = std::min(end, tensors_.size());
  if (begin < end) out.tensors_.assign(tensors_.begin() + begin, tensors_.begin() + end);
  return out;
}

Status Writer::check() const {
  auto l = layout();
  if (!l) return l.error();
  return {};
}

std::vector<uint8_t> Writer::header_bytes(const Layout& layout) const {
  const bool implicit_alignment = alignment_ != format::kDefaultAlignment &&
                                  std::none_of(kvs_.begin(), kvs_.end(), [](const auto& kv) {
                                    return kv.first == format::kAlignmentKey;
                                  });
  std::vector<uint8_t> out;
  out.reserve(4096);  // also keeps GCC 12 from a false -Wstringop-overflow on the first insert
  ByteWriter w(out);
  out.insert(out.end(), format::kMagic.begin(), format::kMagic.end());
  w.put(format::kVersion);
  w.put(static_cast<uint64_t>(tensors_.size()));
  w.put(static_cast<uint64_t>(kvs_.size() + (implicit_alignment ? 1 : 0)));
  for (const auto& [key, value] : kvs_) {
    w.put_string(key);
    w.put(static_cast<uint32_t>(value.type()));
    w.put_payload(value);
  }
  // Readers assume 32 unless told; say so whenever the writer uses anything else.
  if (implicit_alignment) {
    w.put_string(format::kAlignmentKey);
    w.put(static_cast<uint32_t>(ValueType::kU32));
    w.put(alignment_);
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const PendingTensor& t = tensors_[i];
    w.put_string(t.name);
    w.put(static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) w.put(static_cast<uint64_t>(d));
    w.put(static_cast<uint32_t>(t.type));
    w.put(layout.offsets[i]);
  }
  w.pad_to(alignment_);
  return out;
}

std::vector<uint8_t> Writer::to_bytes() const {
  auto l = layout();
  if (!l) return {};
  std::vector<uint8_t> out = header_bytes(*l);
  const size_t data_start = out.size();
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const size_t begin = data_start + l->offsets[i];
    out.resize(format::align_up(begin + l->n_bytes[i], alignment_), 0);
    tensors_[i].produce(std::span<uint8_t>(out.data() + begin, l->n_bytes[i]));
  }
  return out;
}

Status Writer::write_file(const std::string& path) const {
  Layout l;
  MX_TRY_ASSIGN(l, layout());
  const std::string tmp = path + ".tmp";
  TempFile file(tmp);
  auto io_error = [&] { return make_error("cannot write '{}': {}", tmp, std::strerror(errno)); };
  if (!file.is_open()) return io_error();
  const std::vector<uint8_t> header = header_bytes(l);
  if (!file.write(header.data(), header.size())) return io_error();
  // One tensor in memory at a time; zeroed so a producer that skips bytes writes zeros.
  std::vector<uint8_t> buffer;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    buffer.assign(l.n_bytes[i], 0);
    tensors_[i].produce(std::span<uint8_t>(buffer));
    const uint64_t padding = format::align_up(l.n_bytes[i], alignment_) - l.n_bytes[i];
    if (!file.write(buffer.data(), buffer.size()) || !file.write_zeros(padding)) return io_error();
  }
  if (!file.close()) return io_error();
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return make_error("cannot rename '{}' to '{}': {}", tmp, path, std::strerror(errno));
  file.commit();
  return {};
}

}  // namespace mx::gguf
