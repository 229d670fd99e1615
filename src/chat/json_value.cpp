#include "chat/json_value.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "chat/py_str.h"
#include "chat/ustr.h"

namespace mx::chat {

namespace {

template <class Json>
Expected<Value> convert(const Json& j, int depth) {
  if (depth > kMaxValueDepth) return make_error("context JSON is nested more than {} levels deep", kMaxValueDepth);
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value::boolean(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::integer(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      const uint64_t u = j.template get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return make_error("context integer {} does not fit in 64 bits", u);
      }
      return Value::integer(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float: return Value::number(j.template get<double>());
    case nlohmann::json::value_t::string: {
      const auto& s = j.template get_ref<const std::string&>();
      if (!ustr::is_valid_utf8(s)) return make_error("context string is not valid UTF-8");
      return Value::string(s);
    }
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) {
        auto v = convert(e, depth + 1);
        if (!v) return v;
        items.push_back(std::move(*v));
      }
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      std::vector<std::pair<Value, Value>> entries;
      entries.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (!ustr::is_valid_utf8(it.key())) return make_error("context key is not valid UTF-8");
        auto v = convert(it.value(), depth + 1);
        if (!v) return v;
        entries.emplace_back(Value::string(it.key()), std::move(*v));
      }
      return Value::dict(std::move(entries));  // JSON object keys are unique
    }
    default: return make_error("context holds a JSON value of unsupported type (binary)");
  }
}

// A dict key as json.dumps writes it, or an error for keys JSON cannot hold.
Expected<std::string> key_text(const Value& k) {
  switch (k.kind()) {
    case Kind::kString: return k.str();
    case Kind::kInt: return fmt::to_string(k.as_int());
    case Kind::kBool: return std::string(k.as_bool() ? "true" : "false");
    case Kind::kNone: return std::string("null");
    case Kind::kFloat: {
      const double d = k.as_float();
      if (std::isnan(d)) return std::string("NaN");
      if (std::isinf(d)) return std::string(d > 0 ? "Infinity" : "-Infinity");
      return float_repr(d);
    }
    default: return make_error("keys must be str, int, float, bool or None, not {}", type_name(k));
  }
}

class Dumper {
 public:
  explicit Dumper(const JsonDumpOptions& o) : o_(o) {}

  Expected<void> dump(const Value& v, int level) {
    if (level > kMaxValueDepth) return make_error("value is nested too deeply for tojson");
    switch (v.kind()) {
      case Kind::kNone: out += "null"; return {};
      case Kind::kBool: out += v.as_bool() ? "true" : "false"; return {};
      case Kind::kInt: out += fmt::to_string(v.as_int()); return {};
      case Kind::kFloat: {
        const double d = v.as_float();
        if (std::isnan(d)) {
          out += "NaN";
        } else if (std::isinf(d)) {
          out += d > 0 ? "Infinity" : "-Infinity";
        } else {
          out += float_repr(d);
        }
        return {};
      }
      case Kind::kString: append_json_string(out, v.str(), o_.ensure_ascii); return {};
      case Kind::kList:
        if (v.seq_kind() == SeqKind::kList || v.seq_kind() == SeqKind::kTuple) return dump_list(v.items(), level);
        break;
      case Kind::kDict: return dump_dict(v, level);
      default: break;
    }
    return make_error("Object of type {} is not JSON serializable", type_name(v));
  }

  std::string out;

 private:
  void newline(int level) {
    if (!o_.indent) return;
    out += '\n';
    for (int i = 0; i < level; ++i) out += *o_.indent;
  }

  Expected<void> dump_list(const std::vector<Value>& items, int level) {
    if (items.empty()) {
      out += "[]";
      return {};
    }
    out += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += o_.item_separator;
      newline(level + 1);
      if (auto r = dump(items[i], level + 1); !r) return r;
    }
    newline(level);
    out += ']';
    return {};
  }

  Expected<void> dump_dict(const Value& v, int level) {
    const auto& entries = v.dict_obj().entries;
    if (entries.empty()) {
      out += "{}";
      return {};
    }
    std::vector<size_t> order(entries.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    if (o_.sort_keys) {
      bool comparable = true;
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        int c = 0;
        if (!py_compare(entries[a].first, entries[b].first, c)) comparable = false;
        return c < 0;
      });
      if (!comparable) return make_error("'<' not supported between dict keys of different types");
    }
    out += '{';
    bool first = true;
    for (size_t i : order) {
      if (!first) out += o_.item_separator;
      first = false;
      newline(level + 1);
      auto key = key_text(entries[i].first);
      if (!key) return key.error();
      append_json_string(out, *key, o_.ensure_ascii);
      out += o_.key_separator;
      if (auto r = dump(entries[i].second, level + 1); !r) return r;
    }
    newline(level);
    out += '}';
    return {};
  }

  const JsonDumpOptions& o_;
};

}  // namespace

Expected<Value> from_json(const nlohmann::json& j) { return convert(j, 0); }
Expected<Value> from_json(const nlohmann::ordered_json& j) { return convert(j, 0); }

void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto byte = static_cast<unsigned char>(s[i]);
    if (byte >= 0x80) {
      const size_t from = i;
      const char32_t c = ustr::next(s, i);
      if (!ensure_ascii) {
        out += s.substr(from, i - from);
      } else if (c >= 0x10000) {
        const char32_t v = c - 0x10000;
        out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      } else {
        out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      }
      continue;
    }
    ++i;
    switch (byte) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (byte < 0x20 || (ensure_ascii && byte == 0x7F)) {
          out += fmt::format("\\u{:04x}", byte);
        } else {
          out += static_cast<char>(byte);
        }
    }
  }
  out += '"';
}

Expected<std::string> to_json(const Value& v, const JsonDumpOptions& options) {
  Dumper d(options);
  if (auto r = d.dump(v, 0); !r) return r.error();
  return std::move(d.out);
}

}  // namespace mx::chat
