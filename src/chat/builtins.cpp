#include "chat/builtins.h"

#include <algorithm>

#include "chat/access.h"
#include "chat/py_format.h"
#include "chat/try.h"

namespace mx::chat {

namespace {

Expected<Value> range(const CallArgs& c) {
  if (!c.kwargs.empty()) return make_error("range() takes no keyword arguments");
  if (c.args.empty() || c.args.size() > 3) return make_error("range expected 1 to 3 arguments, got {}", c.args.size());
  int64_t v[3] = {0, 0, 1};
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (!c.args[i].is_integral()) {
      return make_error("'{}' object cannot be interpreted as an integer", type_name(c.args[i]));
    }
  }
  if (c.args.size() == 1) {
    v[1] = c.args[0].as_int();
  } else {
    v[0] = c.args[0].as_int();
    v[1] = c.args[1].as_int();
    if (c.args.size() == 3) v[2] = c.args[2].as_int();
  }
  if (v[2] == 0) return make_error("range() arg 3 must not be zero");
  // Count first (in 128 bits: the bounds may be anywhere in int64).
  const __int128 span = v[2] > 0 ? static_cast<__int128>(v[1]) - v[0] : static_cast<__int128>(v[0]) - v[1];
  const __int128 step = v[2] > 0 ? v[2] : -static_cast<__int128>(v[2]);
  const __int128 n = span <= 0 ? 0 : (span + step - 1) / step;
  if (n > kMaxRange) {
    return make_error("Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).", kMaxRange);
  }
  std::vector<Value> out;
  out.reserve(static_cast<size_t>(n));
  for (__int128 k = 0; k < n; ++k) out.push_back(Value::integer(static_cast<int64_t>(v[0] + k * v[2])));
  return Value::list(std::move(out));
}

// dict(mapping_or_pairs, **kwargs), which namespace() also uses for its attributes.
Expected<std::vector<std::pair<Value, Value>>> dict_entries(std::string_view fn, const CallArgs& c) {
  if (c.args.size() > 1) return make_error("{} expected at most 1 argument, got {}", fn, c.args.size());
  std::vector<std::pair<Value, Value>> pairs;
  if (!c.args.empty()) {
    const Value& src = c.args[0];
    if (src.is_dict()) {
      pairs = src.dict_obj().entries;
    } else {
      CHAT_TRY(std::vector<Value> items, iterate(src));
      for (size_t i = 0; i < items.size(); ++i) {
        CHAT_TRY(std::vector<Value> kv, iterate(items[i]));
        if (kv.size() != 2) {
          return make_error("dictionary update sequence element #{} has length {}; 2 is required", i, kv.size());
        }
        if (!is_hashable(kv[0])) return make_error("unhashable type: '{}'", type_name(kv[0]));
        pairs.emplace_back(kv[0], kv[1]);
      }
    }
  }
  for (const auto& [k, v] : c.kwargs) pairs.emplace_back(Value::string(k), v);
  return pairs;
}

}  // namespace

const std::vector<std::string_view>& builtin_names() {
  // Jinja's default globals plus the two transformers adds.
  static const std::vector<std::string_view> names = {"range", "dict", "namespace", "raise_exception",
                                                      "strftime_now", "cycler", "joiner", "lipsum"};
  return names;
}

Value builtin_value(std::string_view name) {
  auto c = std::make_shared<CallableObj>();
  c->kind = CallableKind::kBuiltin;
  c->name = std::string(name);
  return Value::callable(std::move(c));
}

Expected<Value> call_builtin(std::string_view name, const CallArgs& c, const RenderEnv& env) {
  if (name == "range") return range(c);
  if (name == "dict") {
    CHAT_TRY(auto pairs, dict_entries("dict", c));
    return make_dict(std::move(pairs));
  }
  if (name == "namespace") {
    CHAT_TRY(auto pairs, dict_entries("namespace", c));
    auto ns = std::make_shared<NamespaceObj>();
    for (auto& [k, v] : pairs) {
      if (!k.is_string()) return make_error("namespace() keywords must be strings");
      ns->set(k.str(), std::move(v));
    }
    return Value::ns(std::move(ns));
  }
  if (name == "strftime_now") {
    CHAT_TRY(auto a, bind_args("strftime_now", c, {"format"}));
    if (!a[0]) return make_error("strftime_now() missing required argument 'format'");
    CHAT_TRY(std::string f, str_arg("strftime_now", "format", *a[0]));
    return Value::string(strftime_c(f, env.now));
  }
  return make_error("the global function '{}' is not supported", name);
}

}  // namespace mx::chat
