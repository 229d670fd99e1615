#include "gguf/value.h"

#include <fmt/format.h>

#include <limits>
#include <type_traits>

namespace mx::gguf {
namespace {

// Keeps display lines short: a chat template or a long token stays readable in `info`.
constexpr size_t kMaxDisplayChars = 60;

// Quotes a string, escaping control bytes, and cuts it at a UTF-8 character boundary.
std::string quote(const std::string& s) {
  std::string out = "\"";
  size_t shown = 0;
  size_t i = 0;
  for (; i < s.size() && shown < kMaxDisplayChars; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02X}", c);
    } else {
      out += static_cast<char>(c);
    }
    if ((c & 0xC0) != 0x80) ++shown;  // count characters, not continuation bytes
  }
  // Finish a multi-byte character so the cut never leaves invalid UTF-8.
  while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) out += s[i++];
  out += '"';
  if (i < s.size()) out += fmt::format("... ({} bytes)", s.size());
  return out;
}

}  // namespace

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::kU8: return "u8";
    case ValueType::kI8: return "i8";
    case ValueType::kU16: return "u16";
    case ValueType::kI16: return "i16";
    case ValueType::kU32: return "u32";
    case ValueType::kI32: return "i32";
    case ValueType::kF32: return "f32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kU64: return "u64";
    case ValueType::kI64: return "i64";
    case ValueType::kF64: return "f64";
  }
  return "unknown";
}

std::optional<int64_t> Value::as_int() const {
  return std::visit(
      [](const auto& v) -> std::optional<int64_t> {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, uint64_t>) {
          if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
          return static_cast<int64_t>(v);
        } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          return static_cast<int64_t>(v);
        } else {
          return std::nullopt;
        }
      },
      data);
}

std::optional<double> Value::as_float() const {
  return std::visit(
      [](const auto& v) -> std::optional<double> {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
          return static_cast<double>(v);
        } else {
          return std::nullopt;
        }
      },
      data);
}

std::optional<bool> Value::as_bool() const {
  if (const bool* b = std::get_if<bool>(&data)) return *b;
  return std::nullopt;
}

const std::string* Value::as_string() const { return std::get_if<std::string>(&data); }

const Array* Value::as_array() const { return std::get_if<Array>(&data); }

std::string Value::to_display_string(size_t max_items) const {
  return std::visit(
      [max_items](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return quote(v);
        } else if constexpr (std::is_same_v<T, Array>) {
          std::string out = "[";
          const size_t shown = std::min(max_items, v.items.size());
          for (size_t i = 0; i < shown; ++i) {
            if (i) out += ", ";
            out += v.items[i].to_display_string(max_items);
          }
          if (shown < v.items.size())
            out += fmt::format("{}... ({} items)", shown ? ", " : "", v.items.size());
          return out + "]";
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, int8_t>) {
          return fmt::format("{}", static_cast<int>(v));  // not as a character
        } else {
          return fmt::format("{}", v);  // shortest form that reads back the same
        }
      },
      data);
}

}  // namespace mx::gguf
