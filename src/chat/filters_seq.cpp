// The sequence filters: sorting, selecting, mapping, grouping and aggregating.
#include <algorithm>

#include "chat/access.h"
#include "chat/filter_fns.h"
#include "chat/filters.h"
#include "chat/jinja_tests.h"
#include "chat/operators.h"
#include "chat/py_str.h"
#include "chat/try.h"
#include "chat/ustr.h"

namespace mx::chat::filters {

namespace {

Value generator(std::vector<Value> items) { return Value::list(std::move(items), SeqKind::kGenerator); }

Value ignore_case(const Value& v) { return v.is_string() ? Value::string(ustr::lower(v.str())) : v; }

// Jinja's make_multi_attrgetter: "a,b" gives a list of keys compared in order.
Expected<Value> sort_key(const Value& item, const std::optional<Value>& attribute, bool case_sensitive) {
  if (!attribute || attribute->is_none()) return case_sensitive ? item : ignore_case(item);
  if (!attribute->is_string()) {
    CHAT_TRY(Value k, get_attribute_path(item, *attribute, std::nullopt));
    return Value::list({case_sensitive ? k : ignore_case(k)});
  }
  std::vector<Value> keys;
  for (const std::string& part : ustr::split(attribute->str(), std::string_view(","), -1)) {
    CHAT_TRY(Value k, get_attribute_path(item, Value::string(part), std::nullopt));
    keys.push_back(case_sensitive ? k : ignore_case(k));
  }
  return Value::list(std::move(keys));
}

// Python's sorted(): stable, reverse keeps equal items in their original order.
Expected<std::vector<size_t>> sorted_order(const std::vector<Value>& keys, bool reverse) {
  std::vector<size_t> order(keys.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::optional<Error> error;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (error) return false;
    const Value& x = reverse ? keys[b] : keys[a];
    const Value& y = reverse ? keys[a] : keys[b];
    auto lt = compare_op(Op::kLt, x, y);
    if (!lt) {
      error = lt.error();
      return false;
    }
    return *lt;
  });
  if (error) return *error;
  return order;
}

bool flag(const std::optional<Value>& v) { return v && truthy(*v); }

Expected<Value> select_or_reject(const Value& v, const CallArgs& c, const RenderEnv& env, bool select, bool by_attr,
                                 std::string_view fn) {
  if (!truthy(v)) return generator({});
  size_t off = 0;
  Value attr;
  if (by_attr) {
    if (c.args.empty()) return make_error("{}: missing parameter for attribute name", fn);
    attr = c.args[0];
    off = 1;
  }
  std::optional<std::string> test;
  CallArgs test_args;
  if (c.args.size() > off) {
    if (!c.args[off].is_string()) return make_error("{}: the test name must be a string", fn);
    test = c.args[off].str();
    test_args.args.assign(c.args.begin() + static_cast<std::ptrdiff_t>(off + 1), c.args.end());
    test_args.kwargs = c.kwargs;
  }
  CHAT_TRY(std::vector<Value> items, iterate(v));
  std::vector<Value> out;
  for (const Value& item : items) {
    Value subject = item;
    if (by_attr) {
      CHAT_TRY(subject, get_attribute_path(item, attr, std::nullopt));
    }
    bool pass = false;
    if (test) {
      CHAT_TRY(pass, apply_test(*test, subject, test_args, env));
    } else {
      pass = truthy(subject);
    }
    if (pass == select) out.push_back(item);
  }
  return generator(std::move(out));
}

Expected<Value> min_or_max(const Value& v, const CallArgs& c, bool want_max, std::string_view fn) {
  CHAT_TRY(auto a, bind_args(fn, c, {"case_sensitive", "attribute"}));
  CHAT_TRY(std::vector<Value> items, iterate(v));
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  const bool cs = flag(a[0]);
  size_t best = 0;
  CHAT_TRY(Value best_key, get_attribute_path(items[0], a[1] ? *a[1] : Value::none(), std::nullopt));
  if (!cs) best_key = ignore_case(best_key);
  for (size_t i = 1; i < items.size(); ++i) {
    CHAT_TRY(Value key, get_attribute_path(items[i], a[1] ? *a[1] : Value::none(), std::nullopt));
    if (!cs) key = ignore_case(key);
    CHAT_TRY(bool better, compare_op(want_max ? Op::kGt : Op::kLt, key, best_key));
    if (better) {
      best = i;
      best_key = key;
    }
  }
  return items[best];
}

}  // namespace

Expected<Value> get_attribute_path(const Value& item, const Value& attribute, const std::optional<Value>& fallback) {
  std::vector<Value> parts;
  if (attribute.is_none()) {
    // no attribute: the item itself
  } else if (attribute.is_string()) {
    for (const std::string& p : ustr::split(attribute.str(), std::string_view("."), -1)) {
      const bool digits = !p.empty() && p.size() < 18 && p.find_first_not_of("0123456789") == std::string::npos;
      parts.push_back(digits ? Value::integer(std::stoll(p)) : Value::string(p));
    }
  } else {
    parts.push_back(attribute);
  }
  Value v = item;
  for (const Value& part : parts) {
    CHAT_TRY(v, get_item(v, part));
    if (fallback && v.is_undefined()) v = *fallback;
  }
  return v;
}

Expected<Value> length(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_CHECK(bind_args("length", c, {}));
  CHAT_TRY(int64_t n, chat::length(v));
  return Value::integer(n);
}

Expected<Value> list(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_CHECK(bind_args("list", c, {}));
  CHAT_TRY(std::vector<Value> items, iterate(v));
  return Value::list(std::move(items));
}

Expected<Value> first(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_CHECK(bind_args("first", c, {}));
  if (v.is_list() && (v.seq_kind() == SeqKind::kGenerator || v.seq_kind() == SeqKind::kReverseIter)) {
    const ListObj& l = v.list_obj();
    if (l.consumed < l.items.size()) return l.items[l.consumed++];
    return Value::undefined("No first item, sequence was empty.");
  }
  CHAT_TRY(std::vector<Value> items, iterate(v));
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Expected<Value> last(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_CHECK(bind_args("last", c, {}));
  if (v.is_list() && (v.seq_kind() == SeqKind::kGenerator || v.seq_kind() == SeqKind::kReverseIter)) {
    return make_error("'{}' object is not reversible", type_name(v));
  }
  CHAT_TRY(std::vector<Value> items, iterate(v));
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Expected<Value> join(const Value& v, const CallArgs& c, const RenderEnv& env) {
  CHAT_TRY(auto a, bind_args("join", c, {"d", "attribute"}));
  std::string sep;
  if (a[0]) {
    CHAT_TRY(sep, to_str(*a[0]));
  }
  CHAT_TRY(std::vector<Value> items, iterate(v));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    Value item = items[i];
    if (a[1] && !a[1]->is_none()) {
      CHAT_TRY(item, get_attribute_path(item, *a[1], std::nullopt));
    }
    CHAT_TRY(std::string s, to_str(item));
    if (i) out += sep;
    out += s;
    CHAT_CHECK(check_size(out.size(), env));
  }
  return Value::string(std::move(out));
}

Expected<Value> items(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_CHECK(bind_args("items", c, {}));
  if (v.is_undefined()) return generator({});
  if (!v.is_dict()) return make_error("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, val] : v.dict_obj().entries) out.push_back(Value::list({k, val}, SeqKind::kTuple));
  return generator(std::move(out));
}

Expected<Value> reverse(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_CHECK(bind_args("reverse", c, {}));
  if (v.is_string()) {
    std::u32string cps = ustr::decode(v.str());
    std::reverse(cps.begin(), cps.end());
    return Value::string(ustr::encode(cps));
  }
  if (v.is_list() && (v.seq_kind() == SeqKind::kGenerator || v.seq_kind() == SeqKind::kReverseIter)) {
    CHAT_TRY(std::vector<Value> rest, iterate(v));
    std::reverse(rest.begin(), rest.end());
    return Value::list(std::move(rest));
  }
  if (!v.is_list() && !v.is_dict() && !v.is_undefined()) return make_error("argument must be iterable");
  CHAT_TRY(std::vector<Value> out, iterate(v));
  std::reverse(out.begin(), out.end());
  return Value::list(std::move(out), SeqKind::kReverseIter);
}

Expected<Value> sort(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_TRY(auto a, bind_args("sort", c, {"reverse", "case_sensitive", "attribute"}));
  CHAT_TRY(std::vector<Value> items, iterate(v));
  std::vector<Value> keys;
  for (const Value& item : items) {
    CHAT_TRY(Value k, sort_key(item, a[2], flag(a[1])));
    keys.push_back(std::move(k));
  }
  CHAT_TRY(std::vector<size_t> order, sorted_order(keys, flag(a[0])));
  std::vector<Value> out;
  for (size_t i : order) out.push_back(items[i]);
  return Value::list(std::move(out));
}

Expected<Value> dictsort(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_TRY(auto a, bind_args("dictsort", c, {"case_sensitive", "by", "reverse"}));
  size_t pos = 0;
  if (a[1]) {
    if (!a[1]->is_string() || (a[1]->str() != "key" && a[1]->str() != "value")) {
      return make_error("You can only sort by either \"key\" or \"value\"");
    }
    pos = a[1]->str() == "value" ? 1 : 0;
  }
  if (!v.is_dict()) return make_error("'{}' object has no attribute 'items'", type_name(v));
  std::vector<Value> pairs, keys;
  for (const auto& [k, val] : v.dict_obj().entries) {
    pairs.push_back(Value::list({k, val}, SeqKind::kTuple));
    const Value& key = pos == 0 ? k : val;
    keys.push_back(flag(a[0]) ? key : ignore_case(key));
  }
  CHAT_TRY(std::vector<size_t> order, sorted_order(keys, flag(a[2])));
  std::vector<Value> out;
  for (size_t i : order) out.push_back(pairs[i]);
  return Value::list(std::move(out));
}

Expected<Value> unique(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_TRY(auto a, bind_args("unique", c, {"case_sensitive", "attribute"}));
  CHAT_TRY(std::vector<Value> items, iterate(v));
  std::vector<Value> seen, out;
  for (const Value& item : items) {
    CHAT_TRY(Value key, get_attribute_path(item, a[1] ? *a[1] : Value::none(), std::nullopt));
    if (!flag(a[0])) key = ignore_case(key);
    if (!is_hashable(key)) return make_error("unhashable type: '{}'", type_name(key));
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return py_equal(s, key); })) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return generator(std::move(out));
}

Expected<Value> min(const Value& v, const CallArgs& c, const RenderEnv&) { return min_or_max(v, c, false, "min"); }
Expected<Value> max(const Value& v, const CallArgs& c, const RenderEnv&) { return min_or_max(v, c, true, "max"); }

Expected<Value> map(const Value& v, const CallArgs& c, const RenderEnv& env) {
  if (!truthy(v)) return generator({});
  CHAT_TRY(std::vector<Value> items, iterate(v));
  std::vector<Value> out;
  const bool by_attr = c.args.empty() && std::any_of(c.kwargs.begin(), c.kwargs.end(), [](const auto& kv) { return kv.first == "attribute"; });
  if (by_attr) {
    Value attribute;
    std::optional<Value> fallback;
    for (const auto& [k, val] : c.kwargs) {
      if (k == "attribute") {
        attribute = val;
      } else if (k == "default") {
        fallback = val;
      } else {
        return make_error("Unexpected keyword argument '{}'", k);
      }
    }
    for (const Value& item : items) {
      CHAT_TRY(Value r, get_attribute_path(item, attribute, fallback));
      out.push_back(std::move(r));
    }
    return generator(std::move(out));
  }
  if (c.args.empty()) return make_error("map requires a filter argument");
  if (!c.args[0].is_string()) return make_error("map: the filter name must be a string");
  CallArgs rest;
  rest.args.assign(c.args.begin() + 1, c.args.end());
  rest.kwargs = c.kwargs;
  for (const Value& item : items) {
    CHAT_TRY(Value r, apply_filter(c.args[0].str(), item, rest, env));
    out.push_back(std::move(r));
  }
  return generator(std::move(out));
}

Expected<Value> select(const Value& v, const CallArgs& c, const RenderEnv& env) {
  return select_or_reject(v, c, env, true, false, "select");
}
Expected<Value> reject(const Value& v, const CallArgs& c, const RenderEnv& env) {
  return select_or_reject(v, c, env, false, false, "reject");
}
Expected<Value> selectattr(const Value& v, const CallArgs& c, const RenderEnv& env) {
  return select_or_reject(v, c, env, true, true, "selectattr");
}
Expected<Value> rejectattr(const Value& v, const CallArgs& c, const RenderEnv& env) {
  return select_or_reject(v, c, env, false, true, "rejectattr");
}

Expected<Value> batch(const Value& v, const CallArgs& c, const RenderEnv& env) {
  CHAT_TRY(auto a, bind_args("batch", c, {"linecount", "fill_with"}));
  if (!a[0]) return make_error("batch() missing required argument 'linecount'");
  CHAT_TRY(int64_t n, int_arg("batch", "linecount", *a[0]));
  CHAT_TRY(std::vector<Value> items, iterate(v));
  std::vector<Value> out, tmp;
  for (const Value& item : items) {
    if (static_cast<int64_t>(tmp.size()) == n) {
      out.push_back(Value::list(std::move(tmp)));
      tmp.clear();
    }
    tmp.push_back(item);
  }
  if (!tmp.empty()) {
    if (a[1] && !a[1]->is_none()) {
      if (n > 0) CHAT_CHECK(check_size(static_cast<size_t>(std::min<int64_t>(n, INT64_MAX / 16)) * 16, env));
      while (static_cast<int64_t>(tmp.size()) < n) tmp.push_back(*a[1]);
    }
    out.push_back(Value::list(std::move(tmp)));
  }
  return generator(std::move(out));
}

Expected<Value> slice(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_TRY(auto a, bind_args("slice", c, {"slices", "fill_with"}));
  if (!a[0]) return make_error("slice() missing required argument 'slices'");
  CHAT_TRY(int64_t slices, int_arg("slice", "slices", *a[0]));
  if (slices == 0) return make_error("integer division or modulo by zero");
  if (slices < 0 || slices > 100000) return make_error("slice(): slices must be between 1 and 100000");
  CHAT_TRY(std::vector<Value> seq, iterate(v));
  const int64_t n = static_cast<int64_t>(seq.size());
  const int64_t per = n / slices, extra = n % slices;
  int64_t offset = 0;
  std::vector<Value> out;
  for (int64_t k = 0; k < slices; ++k) {
    const int64_t start = offset + k * per;
    if (k < extra) ++offset;
    const int64_t end = offset + (k + 1) * per;
    std::vector<Value> part(seq.begin() + start, seq.begin() + end);
    if (a[1] && !a[1]->is_none() && k >= extra) part.push_back(*a[1]);
    out.push_back(Value::list(std::move(part)));
  }
  return generator(std::move(out));
}

Expected<Value> sum(const Value& v, const CallArgs& c, const RenderEnv& env) {
  CHAT_TRY(auto a, bind_args("sum", c, {"attribute", "start"}));
  Value total = a[1] ? *a[1] : Value::integer(0);
  CHAT_TRY(std::vector<Value> items, iterate(v));
  for (const Value& item : items) {
    CHAT_TRY(Value x, get_attribute_path(item, a[0] ? *a[0] : Value::none(), std::nullopt));
    CHAT_TRY(total, binary_op(Op::kAdd, total, x, env));
  }
  return total;
}

Expected<Value> groupby(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_TRY(auto a, bind_args("groupby", c, {"attribute", "default", "case_sensitive"}));
  if (!a[0]) return make_error("groupby() missing required argument 'attribute'");
  const std::optional<Value> fallback = a[1] && !a[1]->is_none() ? a[1] : std::nullopt;
  CHAT_TRY(std::vector<Value> items, iterate(v));
  std::vector<Value> keys;
  for (const Value& item : items) {
    CHAT_TRY(Value k, get_attribute_path(item, *a[0], fallback));
    keys.push_back(flag(a[2]) ? k : ignore_case(k));
  }
  CHAT_TRY(std::vector<size_t> order, sorted_order(keys, false));
  std::vector<Value> out;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    std::vector<Value> group;
    while (j < order.size() && py_equal(keys[order[j]], keys[order[i]])) group.push_back(items[order[j++]]);
    CHAT_TRY(Value grouper, get_attribute_path(group.front(), *a[0], fallback));
    out.push_back(Value::list({grouper, Value::list(std::move(group))}, SeqKind::kTuple));
    i = j;
  }
  return Value::list(std::move(out));
}

}  // namespace mx::chat::filters
