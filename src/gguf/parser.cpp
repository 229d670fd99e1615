// GGUF parsing. The input is untrusted: every count, length, type and offset is checked
// against the bytes that remain before it is used, and every error names the file, the
// key or tensor, and the byte offset.
#include "gguf/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <numeric>

#include "gguf/byte_reader.h"
#include "gguf/format.h"
#include "gguf/printable.h"

namespace mx::gguf {
namespace {

// Smallest encoding of one array element of `type`; 0 when the type is unknown.
uint64_t min_item_bytes(uint32_t type) {
  if (type == static_cast<uint32_t>(ValueType::kString)) return 8;  // length
  if (type == static_cast<uint32_t>(ValueType::kArray)) return 12;  // type + count
  return format::scalar_size(type);
}

}  // namespace

// The one class allowed to fill File's private fields.
class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, std::string name) : r_(bytes) {
    file_.bytes_ = bytes;
    file_.name_ = std::move(name);
  }

  Expected<File> run() {
    uint64_t n_tensors = 0, n_kv = 0;
    if (Status s = read_header(n_tensors, n_kv); !s) return s.error();
    if (Status s = read_metadata(n_kv); !s) return s.error();
    if (Status s = read_tensor_infos(n_tensors); !s) return s.error();
    if (Status s = place_tensors(); !s) return s.error();
    file_.shards_.push_back({file_.name_, file_.bytes_.size(), file_.tensors_.size()});
    return std::move(file_);
  }

 private:
  template <class... Args>
  Error fail(uint64_t at, fmt::format_string<Args...> f, Args&&... args) const {
    return make_error("{}: {}{} (at byte {})", file_.name_, where_.empty() ? "" : where_ + ": ",
                      fmt::format(f, std::forward<Args>(args)...), at);
  }

  template <class T>
  Status get(T& out, std::string_view what) {
    const uint64_t at = r_.pos();
    if (!r_.read(out))
      return fail(at, "file ends inside {} ({} bytes needed, {} left)", what, sizeof(T),
                  r_.remaining());
    return {};
  }

  Status get_string(std::string& out, std::string_view what, uint64_t max_len) {
    const uint64_t at = r_.pos();
    uint64_t len = 0;
    if (Status s = get(len, what); !s) return s;
    if (len > max_len) return fail(at, "{} length {} exceeds the limit of {}", what, len, max_len);
    if (!r_.read_string(len, out))
      return fail(at, "{} length {} runs past the end of the file ({} bytes left)", what, len,
                  r_.remaining());
    return {};
  }

  Status read_header(uint64_t& n_tensors, uint64_t& n_kv) {
    const std::span<const uint8_t> b = file_.bytes_;
    if (b.empty()) return make_error("{}: file is empty, not a GGUF file", file_.name_);
    const size_t n = std::min<size_t>(b.size(), format::kMagic.size());
    if (!std::equal(b.begin(), b.begin() + n, format::kMagic.begin())) {
      const std::string_view head(reinterpret_cast<const char*>(b.data()), n);
      return fail(0, "not a GGUF file: it starts with '{}', expected 'GGUF'", printable(head));
    }
    uint32_t magic = 0, version = 0;
    if (Status s = get(magic, "the magic"); !s) return s;
    const uint64_t version_at = r_.pos();
    if (Status s = get(version, "the version"); !s) return s;
    if (version == 1)
      return fail(version_at,
                  "GGUF version 1 is not supported (its counts are 32-bit); "
                  "convert the file to version 3");
    if (version == 0x02000000 || version == 0x03000000)
      return fail(version_at, "big-endian GGUF files are not supported");
    if (version != 2 && version != 3)
      return fail(version_at, "unsupported GGUF version {} (moxing reads versions 2 and 3)",
                  version);
    file_.version_ = version;
    const uint64_t counts_at = r_.pos();
    if (Status s = get(n_tensors, "the tensor count"); !s) return s;
    if (Status s = get(n_kv, "the metadata count"); !s) return s;
    // Reject counts the file cannot hold now, so a hostile 2^60 never reaches an allocation.
    if (n_tensors > r_.remaining() / format::kMinTensorInfoBytes)
      return fail(counts_at, "n_tensors {} cannot fit in the {} bytes left", n_tensors,
                  r_.remaining());
    if (n_kv > r_.remaining() / format::kMinKvBytes)
      return fail(counts_at + 8, "n_kv {} cannot fit in the {} bytes left", n_kv, r_.remaining());
    return {};
  }

  Status read_metadata(uint64_t n_kv) {
    for (uint64_t i = 0; i < n_kv; ++i) {
      where_ = fmt::format("key #{}", i);
      const uint64_t key_at = r_.pos();
      std::string key;
      if (Status s = get_string(key, "key", format::kMaxKeyLength); !s) return s;
      if (key.empty()) return fail(key_at, "empty key");
      where_ = fmt::format("key '{}'", printable(key));
      if (file_.key_index_.contains(key)) return fail(key_at, "duplicate key");
      uint32_t type = 0;
      if (Status s = get(type, "the value type"); !s) return s;
      const uint64_t value_at = r_.pos();
      Value value;
      if (Status s = read_value(type, 0, value); !s) return s;
      if (key == format::kAlignmentKey) {
        if (Status s = set_alignment(value, value_at); !s) return s;
      }
      file_.key_index_.emplace(key, file_.metadata_.size());
      file_.metadata_.push_back({std::move(key), std::move(value)});
    }
    where_.clear();
    return {};
  }

  template <class T>
  Status read_scalar(Value& out, std::string_view what) {
    T v{};
    if (Status s = get(v, what); !s) return s;
    out.data = v;
    return {};
  }

  // `depth` counts the arrays around this value; the limit bounds the recursion.
  Status read_value(uint32_t type, int depth, Value& out) {
    const uint64_t at = r_.pos();
    switch (static_cast<ValueType>(type)) {
      case ValueType::kU8: return read_scalar<uint8_t>(out, "a u8 value");
      case ValueType::kI8: return read_scalar<int8_t>(out, "an i8 value");
      case ValueType::kU16: return read_scalar<uint16_t>(out, "a u16 value");
      case ValueType::kI16: return read_scalar<int16_t>(out, "an i16 value");
      case ValueType::kU32: return read_scalar<uint32_t>(out, "a u32 value");
      case ValueType::kI32: return read_scalar<int32_t>(out, "an i32 value");
      case ValueType::kF32: return read_scalar<float>(out, "an f32 value");
      case ValueType::kU64: return read_scalar<uint64_t>(out, "a u64 value");
      case ValueType::kI64: return read_scalar<int64_t>(out, "an i64 value");
      case ValueType::kF64: return read_scalar<double>(out, "an f64 value");
      case ValueType::kBool: {
        uint8_t b = 0;
        if (Status s = get(b, "a bool value"); !s) return s;
        // The specification calls anything but 0 and 1 invalid.
        if (b > 1) return fail(at, "bool value {} is neither 0 nor 1", b);
        out.data = b == 1;
        return {};
      }
      case ValueType::kString: {
        std::string s;
        if (Status st = get_string(s, "string", std::numeric_limits<uint64_t>::max()); !st)
          return st;
        out.data = std::move(s);
        return {};
      }
      case ValueType::kArray: return read_array(depth + 1, out);
    }
    return fail(at - 4, "unknown value type {}", type);  // the type field precedes the value
  }

  Status read_array(int depth, Value& out) {
    const uint64_t at = r_.pos();
    if (depth > format::kMaxArrayDepth)
      return fail(at, "arrays nested deeper than {} levels", format::kMaxArrayDepth);
    uint32_t elem_type = 0;
    uint64_t count = 0;
    if (Status s = get(elem_type, "the array element type"); !s) return s;
    if (Status s = get(count, "the array length"); !s) return s;
    const uint64_t min_bytes = min_item_bytes(elem_type);
    if (min_bytes == 0) return fail(at, "unknown array element type {}", elem_type);
    if (count > r_.remaining() / min_bytes)
      return fail(at + 4, "array of {} {} items cannot fit in the {} bytes left", count,
                  value_type_name(static_cast<ValueType>(elem_type)), r_.remaining());
    Array a;
    a.elem_type = static_cast<ValueType>(elem_type);
    a.items.resize(count);  // bounded by the check above
    for (Value& item : a.items) {
      if (Status s = read_value(elem_type, depth, item); !s) return s;
    }
    out.data = std::move(a);
    return {};
  }

  Status set_alignment(const Value& v, uint64_t at) {
    const auto* a = std::get_if<uint32_t>(&v.data);
    if (!a) return fail(at, "alignment has type {}, expected u32", value_type_name(v.type()));
    if (!format::is_valid_alignment(*a))
      return fail(at, "alignment {} is not a nonzero power of two", *a);
    file_.alignment_ = *a;
    return {};
  }

  Status read_tensor_infos(uint64_t n_tensors) {
    for (uint64_t i = 0; i < n_tensors; ++i) {
      where_ = fmt::format("tensor #{}", i);
      TensorInfo t;
      if (Status s = read_tensor_info(t); !s) return s;
      file_.tensor_index_.emplace(t.name, file_.tensors_.size());
      file_.tensors_.push_back(std::move(t));
    }
    where_.clear();
    return {};
  }

  Status read_tensor_info(TensorInfo& t) {
    const uint64_t name_at = r_.pos();
    if (Status s = get_string(t.name, "tensor name", format::kMaxKeyLength); !s) return s;
    if (t.name.empty()) return fail(name_at, "empty tensor name");
    where_ = fmt::format("tensor '{}'", printable(t.name));
    if (file_.tensor_index_.contains(t.name)) return fail(name_at, "duplicate tensor name");
    const uint64_t dims_at = r_.pos();
    uint32_t n_dims = 0;
    if (Status s = get(n_dims, "n_dims"); !s) return s;
    if (n_dims < 1 || n_dims > format::kMaxDims)
      return fail(dims_at, "n_dims {} is outside 1..{}", n_dims, format::kMaxDims);
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t at = r_.pos();
      uint64_t ne = 0;
      if (Status s = get(ne, "a dimension"); !s) return s;
      if (ne == 0) return fail(at, "ne[{}] is 0; every dimension must be at least 1", d);
      if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return fail(at, "ne[{}] = {} is too large", d, ne);
      t.dims.push_back(static_cast<int64_t>(ne));
      if (__builtin_mul_overflow(n_elements, t.dims.back(), &n_elements))
        return fail(dims_at, "element count of dims [{}] overflows", fmt::join(t.dims, ", "));
    }
    const uint64_t type_at = r_.pos();
    uint32_t raw_type = 0;
    if (Status s = get(raw_type, "the tensor type"); !s) return s;
    const std::optional<TypeTraits> tr = type_traits(raw_type);
    if (!tr) return fail(type_at, "unknown ggml type {}", raw_type);
    t.type = tr->type;
    if (t.dims[0] % tr->block_size != 0)
      return fail(dims_at, "row length ne[0] = {} is not a multiple of the {} block size {}",
                  t.dims[0], tr->name, tr->block_size);
    // Every row is whole blocks, so the tensor is n_elements / block_size blocks.
    const uint64_t n_blocks = static_cast<uint64_t>(n_elements) / tr->block_size;
    uint64_t n_bytes = 0;
    if (__builtin_mul_overflow(n_blocks, uint64_t{tr->type_size}, &n_bytes))
      return fail(dims_at, "byte size of dims [{}] overflows", fmt::join(t.dims, ", "));
    t.n_bytes = n_bytes;
    const uint64_t offset_at = r_.pos();
    if (Status s = get(t.offset, "the tensor offset"); !s) return s;
    if (t.offset % file_.alignment_ != 0)
      return fail(offset_at, "offset {} is not a multiple of the alignment {}", t.offset,
                  file_.alignment_);
    return {};
  }

  // Data bounds and overlaps need the data section's start, known only after all infos.
  Status place_tensors() {
    const uint64_t size = file_.bytes_.size();
    file_.data_offset_ = format::align_up(r_.pos(), file_.alignment_);
    const uint64_t data_size = size > file_.data_offset_ ? size - file_.data_offset_ : 0;
    for (TensorInfo& t : file_.tensors_) {
      const uint64_t begin = file_.data_offset_ + t.offset;
      if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
        where_ = fmt::format("tensor '{}'", printable(t.name));
        return fail(std::min(begin, size),
                    "data at offset {} ({} bytes) runs past the end of the file "
                    "(the data section holds {} bytes)",
                    t.offset, t.n_bytes, data_size);
      }
      t.data = file_.bytes_.data() + begin;
    }
    std::vector<size_t> order(file_.tensors_.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return file_.tensors_[a].offset < file_.tensors_[b].offset;
    });
    for (size_t i = 1; i < order.size(); ++i) {
      const TensorInfo& a = file_.tensors_[order[i - 1]];
      const TensorInfo& b = file_.tensors_[order[i]];
      if (a.offset + a.n_bytes > b.offset)
        return fail(file_.data_offset_ + b.offset,
                    "tensors '{}' (offset {}, {} bytes) and '{}' (offset {}) overlap",
                    printable(a.name), a.offset, a.n_bytes, printable(b.name), b.offset);
    }
    return {};
  }

  ByteReader r_;
  File file_;
  std::string where_;  // "key 'x'" or "tensor 'y'", named in every error
};

Expected<File> parse_gguf(std::span<const uint8_t> bytes, std::string name) {
  return Parser(bytes, std::move(name)).run();
}

}  // namespace mx::gguf
