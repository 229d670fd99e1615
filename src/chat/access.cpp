#include "chat/access.h"

#include <limits>

#include <fmt/format.h>

#include "chat/methods.h"
#include "chat/py_str.h"
#include "chat/ustr.h"

namespace mx::chat {

namespace {

Value no_attribute(const Value& obj, const std::string& name) {
  return Value::undefined(fmt::format("{} has no attribute {}", string_repr(object_type_repr(obj)), string_repr(name)));
}

Value no_element(const Value& obj, const Value& key) {
  auto r = to_repr(key);
  return Value::undefined(fmt::format("{} has no element {}", object_type_repr(obj), r ? *r : "?"));
}

Value loop_attr(const Value& obj, const std::string& name) {
  const LoopObj& l = obj.loop_obj();
  const auto n = static_cast<int64_t>(l.items.size());
  const auto i = static_cast<int64_t>(l.index0);
  if (name == "index0") return Value::integer(i);
  if (name == "index") return Value::integer(i + 1);
  if (name == "revindex0") return Value::integer(n - i - 1);
  if (name == "revindex") return Value::integer(n - i);
  if (name == "first") return Value::boolean(i == 0);
  if (name == "last") return Value::boolean(i + 1 == n);
  if (name == "length") return Value::integer(n);
  if (name == "depth0") return Value::integer(l.depth0);
  if (name == "depth") return Value::integer(l.depth0 + 1);
  if (name == "previtem") {
    return i > 0 ? l.items[static_cast<size_t>(i - 1)] : Value::undefined("there is no previous item");
  }
  if (name == "nextitem") {
    return i + 1 < n ? l.items[static_cast<size_t>(i + 1)] : Value::undefined("there is no next item");
  }
  return no_attribute(obj, name);
}

// Python's slice.indices() followed by the walk it describes.
Expected<std::vector<int64_t>> slice_positions(int64_t length, const Value& start_v, const Value& stop_v,
                                               const Value& step_v, bool& bad_bounds) {
  auto bound_ok = [](const Value& v) { return v.is_none() || v.is_integral(); };
  if (!bound_ok(start_v) || !bound_ok(stop_v) || !bound_ok(step_v)) {
    bad_bounds = true;
    return std::vector<int64_t>{};
  }
  int64_t step = step_v.is_none() ? 1 : step_v.as_int();
  if (step == 0) return make_error("slice step cannot be zero");
  if (step < -std::numeric_limits<int64_t>::max()) step = -std::numeric_limits<int64_t>::max();
  auto adjust = [&](const Value& v, int64_t def) {
    if (v.is_none()) return def;
    int64_t x = v.as_int();
    if (x < 0) {
      x = x < -length ? -1 : x + length;  // avoids overflow for huge negative values
      if (x < 0) x = step < 0 ? -1 : 0;
    } else if (x >= length) {
      x = step < 0 ? length - 1 : length;
    }
    return x;
  };
  const int64_t start = adjust(start_v, step < 0 ? length - 1 : 0);
  const int64_t stop = adjust(stop_v, step < 0 ? -1 : length);
  std::vector<int64_t> out;
  if (step > 0) {
    for (int64_t i = start; i < stop; i = (stop - i > step) ? i + step : stop) out.push_back(i);
  } else {
    for (int64_t i = start; i > stop; i = (i - stop > -step) ? i + step : stop) out.push_back(i);
  }
  return out;
}

// The characters of a string, each as a one-character string.
std::vector<Value> string_chars(const Value& s) {
  std::vector<Value> out;
  const std::string& text = s.str();
  for (size_t i = 0; i < text.size();) {
    const size_t from = i;
    ustr::next(text, i);
    out.push_back(Value::string(text.substr(from, i - from)));
  }
  return out;
}

}  // namespace

Expected<Value> get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) return make_error("{}", obj.undefined_message());
  if (name.rfind("__", 0) == 0 || is_unsafe_method(obj, name)) {
    return Value::undefined(fmt::format("access to attribute {} of {} object is unsafe.", string_repr(name),
                                        string_repr(type_name(obj))));
  }
  if (obj.is_loop()) {
    if (name == "cycle" || name == "changed") return bind_method(obj, name);
    return loop_attr(obj, name);
  }
  if (has_method(obj, name)) return bind_method(obj, name);
  if (obj.is_dict()) {
    if (const Value* v = obj.dict_obj().find(name)) return *v;
  } else if (obj.is_namespace()) {
    if (const Value* v = obj.ns_obj().find(name)) return *v;
  }
  return no_attribute(obj, name);
}

Expected<Value> get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) return make_error("{}", obj.undefined_message());
  if (obj.is_dict()) {
    if (is_hashable(key)) {
      if (const Value* v = obj.dict_obj().find(key)) return *v;
    }
  } else if ((obj.is_sequence_list() || obj.is_string()) && key.is_integral()) {
    const bool is_str = obj.is_string();
    const int64_t n = is_str ? static_cast<int64_t>(obj.str_is_ascii() ? obj.str().size() : ustr::length(obj.str()))
                             : static_cast<int64_t>(obj.items().size());
    int64_t i = key.as_int();
    if (i < 0 && i >= -n) i += n;
    if (i >= 0 && i < n) {
      if (!is_str) return obj.items()[static_cast<size_t>(i)];
      if (obj.str_is_ascii()) return Value::string(obj.str().substr(static_cast<size_t>(i), 1), obj.is_markup());
      std::u32string one(1, ustr::decode(obj.str())[static_cast<size_t>(i)]);
      return Value::string(ustr::encode(one), obj.is_markup());
    }
  }
  if (key.is_string()) {
    auto attr = get_attr(obj, key.str());
    if (!attr) return attr;
    if (!attr->is_undefined()) return attr;
    // An unsafe attribute keeps its own message; a missing one is reported as an item.
    if (key.str().rfind("__", 0) == 0 || is_unsafe_method(obj, key.str())) return attr;
    return no_attribute(obj, key.str());
  }
  return no_element(obj, key);
}

Expected<Value> get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  // Jinja compiles slices to Python's own obj[a:b:c], bypassing the sandbox's getitem, so
  // every failure is an error rather than an Undefined.
  if (obj.is_undefined()) return make_error("{}", obj.undefined_message());
  const bool is_str = obj.is_string();
  if (obj.is_dict()) return make_error("unhashable type: 'slice'");
  if (!is_str && !obj.is_sequence_list()) return make_error("'{}' object is not subscriptable", type_name(obj));
  std::u32string cps;
  if (is_str && !obj.str_is_ascii()) cps = ustr::decode(obj.str());
  const int64_t n = is_str ? static_cast<int64_t>(obj.str_is_ascii() ? obj.str().size() : cps.size())
                           : static_cast<int64_t>(obj.items().size());
  bool bad_bounds = false;
  auto positions = slice_positions(n, start, stop, step, bad_bounds);
  if (!positions) return positions.error();
  if (bad_bounds) return make_error("slice indices must be integers or None or have an __index__ method");
  if (is_str) {
    std::string out;
    if (obj.str_is_ascii()) {
      for (int64_t i : *positions) out += obj.str()[static_cast<size_t>(i)];
    } else {
      for (int64_t i : *positions) ustr::append(out, cps[static_cast<size_t>(i)]);
    }
    return Value::string(std::move(out), obj.is_markup());
  }
  std::vector<Value> out;
  out.reserve(positions->size());
  for (int64_t i : *positions) out.push_back(obj.items()[static_cast<size_t>(i)]);
  return Value::list(std::move(out), obj.seq_kind());
}

Expected<std::vector<Value>> iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return std::vector<Value>{};
    case Kind::kString: return string_chars(v);
    case Kind::kList: {
      const ListObj& l = v.list_obj();
      if (l.kind == SeqKind::kGenerator || l.kind == SeqKind::kReverseIter) {
        std::vector<Value> rest(l.items.begin() + static_cast<std::ptrdiff_t>(l.consumed), l.items.end());
        l.consumed = l.items.size();
        return rest;
      }
      return l.items;
    }
    case Kind::kDict: {
      std::vector<Value> keys;
      keys.reserve(v.dict_obj().entries.size());
      for (const auto& [k, val] : v.dict_obj().entries) keys.push_back(k);
      return keys;
    }
    default: return make_error("'{}' object is not iterable", type_name(v));
  }
}

Expected<int64_t> length(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return int64_t{0};
    case Kind::kString:
      return static_cast<int64_t>(v.str_is_ascii() ? v.str().size() : ustr::length(v.str()));
    case Kind::kList:
      if (v.seq_kind() == SeqKind::kGenerator || v.seq_kind() == SeqKind::kReverseIter) break;
      return static_cast<int64_t>(v.items().size());
    case Kind::kDict: return static_cast<int64_t>(v.dict_obj().entries.size());
    case Kind::kLoop: return static_cast<int64_t>(v.loop_obj().items.size());
    default: break;
  }
  return make_error("object of type '{}' has no len()", type_name(v));
}

Expected<bool> contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::kUndefined: return false;
    case Kind::kString:
      if (!item.is_string()) {
        return make_error("'in <string>' requires string as left operand, not {}", type_name(item));
      }
      return container.str().find(item.str()) != std::string::npos;
    case Kind::kList: {
      const ListObj& l = container.list_obj();
      const bool once = l.kind == SeqKind::kGenerator || l.kind == SeqKind::kReverseIter;
      for (size_t i = once ? l.consumed : 0; i < l.items.size(); ++i) {
        if (py_equal(l.items[i], item)) {
          if (once) l.consumed = i + 1;
          return true;
        }
      }
      if (once) l.consumed = l.items.size();
      return false;
    }
    case Kind::kDict:
      if (!is_hashable(item)) return make_error("unhashable type: '{}'", type_name(item));
      return container.dict_obj().find(item) != nullptr;
    default: return make_error("argument of type '{}' is not iterable", type_name(container));
  }
}

}  // namespace mx::chat
