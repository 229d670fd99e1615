#include "chat/methods.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "chat/access.h"
#include "chat/py_format.h"
#include "chat/py_str.h"
#include "chat/try.h"
#include "chat/ustr.h"

namespace mx::chat {

namespace {

constexpr std::string_view kStrMethods[] = {
    "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find", "format",
    "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier",
    "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower",
    "lstrip", "maketrans", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex",
    "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
    "title", "translate", "upper", "zfill"};
constexpr std::string_view kDictMethods[] = {"clear", "copy", "fromkeys", "get", "items", "keys",
                                             "pop", "popitem", "setdefault", "update", "values"};
constexpr std::string_view kDictUnsafe[] = {"clear", "pop", "popitem", "setdefault", "update"};
constexpr std::string_view kListMethods[] = {"append", "clear", "copy", "count", "extend", "index",
                                             "insert", "pop", "remove", "reverse", "sort"};
constexpr std::string_view kListUnsafe[] = {"append", "clear", "pop", "reverse", "insert", "sort", "extend", "remove"};
constexpr std::string_view kTupleMethods[] = {"count", "index"};

template <size_t N>
bool in(const std::string_view (&set)[N], std::string_view name) {
  return std::find(std::begin(set), std::end(set), name) != std::end(set);
}

// Python's methods take their arguments positionally; only a few accept keywords.
Expected<void> positional(std::string_view name, const CallArgs& c, size_t min, size_t max) {
  if (!c.kwargs.empty()) return make_error("{}() takes no keyword arguments", name);
  if (c.args.size() < min || c.args.size() > max) {
    return make_error("{}() takes {} {} argument(s) ({} given)", name, min == max ? "exactly" : "at most",
                      c.args.size() < min ? min : max, c.args.size());
  }
  return {};
}

// Optional string argument that may be None (strip's chars, split's sep).
Expected<std::optional<std::string>> opt_str(std::string_view fn, const CallArgs& c, size_t i) {
  if (c.args.size() <= i || c.args[i].is_none()) return std::optional<std::string>();
  if (!c.args[i].is_string()) return make_error("{}() argument must be str or None, not {}", fn, type_name(c.args[i]));
  return std::optional<std::string>(c.args[i].str());
}

// Start/end arguments of find/count/startswith, clamped as slice bounds on n code points.
std::pair<size_t, size_t> range_args(const CallArgs& c, size_t first, size_t n) {
  auto clamp = [&](size_t i, int64_t def) {
    if (c.args.size() <= i || c.args[i].is_none() || !c.args[i].is_integral()) return def;
    int64_t x = c.args[i].as_int();
    if (x < 0) x = std::max<int64_t>(0, x + static_cast<int64_t>(n));
    return std::min<int64_t>(x, static_cast<int64_t>(n));
  };
  return {static_cast<size_t>(clamp(first, 0)), static_cast<size_t>(clamp(first + 1, static_cast<int64_t>(n)))};
}

Value str_result(std::string s, const Value& self) { return Value::string(std::move(s), self.is_markup()); }

// A string argument as a Markup method sees it: plain strings are escaped.
std::string markup_arg(const Value& self, const Value& arg) {
  if (self.is_markup() && !arg.is_markup()) return html_escape(arg.str());
  return arg.str();
}

Expected<Value> pad(const Value& self, const std::string& name, const CallArgs& c, const RenderEnv& env) {
  CHAT_CHECK(positional(name, c, 1, name == "zfill" ? 1 : 2));
  CHAT_TRY(int64_t width, int_arg(name, "width", c.args[0]));
  char32_t fill = ' ';
  if (c.args.size() > 1) {
    if (!c.args[1].is_string() || ustr::length(c.args[1].str()) != 1) {
      return make_error("The fill character must be exactly one character long");
    }
    size_t k = 0;
    fill = ustr::next(c.args[1].str(), k);
  }
  const std::u32string s = ustr::decode(self.str());
  const int64_t n = static_cast<int64_t>(s.size());
  if (width <= n) return self;
  CHAT_CHECK(check_size(static_cast<size_t>(width) > env.max_string_bytes / 4 ? env.max_string_bytes + 1 : static_cast<size_t>(width) * 4, env));
  const size_t total = static_cast<size_t>(width - n);
  size_t left = 0;
  if (name == "center") {
    left = total / 2 + (total & static_cast<size_t>(width) & 1);  // CPython's rounding
  } else if (name == "rjust" || name == "zfill") {
    left = total;
  }
  std::u32string out;
  if (name == "zfill") {
    size_t sign = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
    out = s.substr(0, sign) + std::u32string(total, U'0') + s.substr(sign);
  } else {
    out = std::u32string(left, fill) + s + std::u32string(total - left, fill);
  }
  return str_result(ustr::encode(out), self);
}

Expected<Value> find_like(const Value& self, const std::string& name, const CallArgs& c) {
  CHAT_CHECK(positional(name, c, 1, 3));
  if (!c.args[0].is_string()) return make_error("must be str, not {}", type_name(c.args[0]));
  const std::u32string s = ustr::decode(self.str());
  const std::u32string sub = ustr::decode(c.args[0].str());
  auto [b, e] = range_args(c, 1, s.size());
  if (name == "count") {
    if (b > e) return Value::integer(0);
    if (sub.empty()) return Value::integer(static_cast<int64_t>(e - b + 1));
    int64_t n = 0;
    for (size_t at = s.find(sub, b); at != std::u32string::npos && at + sub.size() <= e; at = s.find(sub, at + sub.size())) ++n;
    return Value::integer(n);
  }
  int64_t found = -1;
  if (b <= e && sub.size() <= e - b) {
    const std::u32string_view window = std::u32string_view(s).substr(b, e - b);
    const size_t at = (name == "rfind" || name == "rindex") ? window.rfind(sub) : window.find(sub);
    if (at != std::u32string_view::npos) found = static_cast<int64_t>(b + at);
  }
  if (found < 0 && (name == "index" || name == "rindex")) return make_error("substring not found");
  return Value::integer(found);
}

Expected<Value> affix_test(const Value& self, const std::string& name, const CallArgs& c) {
  CHAT_CHECK(positional(name, c, 1, 3));
  std::vector<std::string> affixes;
  if (c.args[0].is_string()) {
    affixes.push_back(c.args[0].str());
  } else if (c.args[0].is_list() && c.args[0].seq_kind() == SeqKind::kTuple) {
    for (const Value& v : c.args[0].items()) {
      if (!v.is_string()) return make_error("tuple for {} must only contain str, not {}", name, type_name(v));
      affixes.push_back(v.str());
    }
  } else {
    return make_error("{} first arg must be str or a tuple of str, not {}", name, type_name(c.args[0]));
  }
  const std::u32string s = ustr::decode(self.str());
  auto [b, e] = range_args(c, 1, s.size());
  if (b > e) return Value::boolean(false);
  const std::u32string_view window = std::u32string_view(s).substr(b, e - b);
  for (const std::string& a : affixes) {
    const std::u32string x = ustr::decode(a);
    if (x.size() > window.size()) continue;
    const bool hit = name == "startswith" ? window.substr(0, x.size()) == x
                                          : window.substr(window.size() - x.size()) == x;
    if (hit) return Value::boolean(true);
  }
  return Value::boolean(false);
}

template <class Pred>
Value all_chars(const std::string& s, Pred pred) {
  if (s.empty()) return Value::boolean(false);
  for (size_t i = 0; i < s.size();) {
    if (!pred(ustr::next(s, i))) return Value::boolean(false);
  }
  return Value::boolean(true);
}

Expected<Value> str_method(const Value& self, const std::string& name, const CallArgs& c, const RenderEnv& env) {
  const std::string& s = self.str();
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    CHAT_CHECK(positional(name, c, 0, 1));
    CHAT_TRY(auto chars, opt_str(name, c, 0));
    return str_result(ustr::strip(s, chars ? std::optional<std::string_view>(*chars) : std::nullopt,
                                  name != "rstrip", name != "lstrip"), self);
  }
  if (name == "split" || name == "rsplit") {
    CHAT_TRY(auto bound, bind_args(name, c, {"sep", "maxsplit"}));
    std::optional<std::string> sep;
    if (bound[0] && !bound[0]->is_none()) {
      CHAT_TRY(sep, str_arg(name, "sep", *bound[0]));
      if (sep->empty()) return make_error("empty separator");
    }
    int64_t maxsplit = -1;
    if (bound[1]) {
      CHAT_TRY(maxsplit, int_arg(name, "maxsplit", *bound[1]));
    }
    auto parts = name == "split" ? ustr::split(s, sep ? std::optional<std::string_view>(*sep) : std::nullopt, maxsplit)
                                 : ustr::rsplit(s, sep ? std::optional<std::string_view>(*sep) : std::nullopt, maxsplit);
    std::vector<Value> out;
    for (auto& p : parts) out.push_back(str_result(std::move(p), self));
    return Value::list(std::move(out));
  }
  if (name == "splitlines") {
    CHAT_TRY(auto bound, bind_args(name, c, {"keepends"}));
    std::vector<Value> out;
    for (auto& p : ustr::splitlines(s, bound[0] && truthy(*bound[0]))) out.push_back(str_result(std::move(p), self));
    return Value::list(std::move(out));
  }
  if (name == "startswith" || name == "endswith") return affix_test(self, name, c);
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    return find_like(self, name, c);
  }
  if (name == "upper" || name == "lower" || name == "casefold" || name == "title" || name == "capitalize" ||
      name == "swapcase") {
    CHAT_CHECK(positional(name, c, 0, 0));
    if (name == "upper") return str_result(ustr::upper(s), self);
    if (name == "lower" || name == "casefold") return str_result(ustr::lower(s), self);
    if (name == "title") return str_result(ustr::title(s), self);
    if (name == "capitalize") return str_result(ustr::capitalize(s), self);
    std::string out;
    for (size_t i = 0; i < s.size();) {
      const char32_t ch = ustr::next(s, i);
      ustr::append(out, ustr::to_upper(ch) != ch ? ustr::to_upper(ch) : ustr::to_lower(ch));
    }
    return str_result(std::move(out), self);
  }
  if (name == "replace") {
    CHAT_CHECK(positional(name, c, 2, 3));
    if (!c.args[0].is_string() || !c.args[1].is_string()) return make_error("replace() arguments must be str");
    int64_t count = -1;
    if (c.args.size() > 2) {
      CHAT_TRY(count, int_arg(name, "count", c.args[2]));
    }
    const std::string repl = markup_arg(self, c.args[1]);
    std::string out = ustr::replace(s, markup_arg(self, c.args[0]), repl, count);
    CHAT_CHECK(check_size(out.size(), env));
    return str_result(std::move(out), self);
  }
  if (name == "join") {
    CHAT_CHECK(positional(name, c, 1, 1));
    CHAT_TRY(std::vector<Value> items, iterate(c.args[0]));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) {
        return make_error("sequence item {}: expected str instance, {} found", i, type_name(items[i]));
      }
      if (i) out += s;
      out += markup_arg(self, items[i]);
      CHAT_CHECK(check_size(out.size(), env));
    }
    return str_result(std::move(out), self);
  }
  if (name == "format") {
    CHAT_TRY(std::string out, str_format(s, c, env));
    return str_result(std::move(out), self);
  }
  if (name == "center" || name == "ljust" || name == "rjust" || name == "zfill") return pad(self, name, c, env);
  if (name == "partition" || name == "rpartition") {
    CHAT_CHECK(positional(name, c, 1, 1));
    if (!c.args[0].is_string()) return make_error("must be str, not {}", type_name(c.args[0]));
    const std::string& sep = c.args[0].str();
    if (sep.empty()) return make_error("empty separator");
    const size_t at = name == "partition" ? s.find(sep) : s.rfind(sep);
    std::vector<Value> parts;
    if (at == std::string::npos) {
      parts = name == "partition"
                  ? std::vector<Value>{str_result(s, self), str_result("", self), str_result("", self)}
                  : std::vector<Value>{str_result("", self), str_result("", self), str_result(s, self)};
    } else {
      parts = {str_result(s.substr(0, at), self), str_result(sep, self), str_result(s.substr(at + sep.size()), self)};
    }
    return Value::list(std::move(parts), SeqKind::kTuple);
  }
  if (name == "removeprefix" || name == "removesuffix") {
    CHAT_CHECK(positional(name, c, 1, 1));
    if (!c.args[0].is_string()) return make_error("must be str, not {}", type_name(c.args[0]));
    const std::string& a = c.args[0].str();
    if (name == "removeprefix" && s.rfind(a, 0) == 0) return str_result(s.substr(a.size()), self);
    if (name == "removesuffix" && !a.empty() && s.size() >= a.size() && s.compare(s.size() - a.size(), a.size(), a) == 0) {
      return str_result(s.substr(0, s.size() - a.size()), self);
    }
    return self;
  }
  if (name.rfind("is", 0) == 0) {
    CHAT_CHECK(positional(name, c, 0, 0));
    if (name == "isspace") return all_chars(s, ustr::is_space);
    if (name == "isdigit" || name == "isdecimal" || name == "isnumeric") {
      return all_chars(s, [](char32_t ch) { return ch >= '0' && ch <= '9'; });
    }
    if (name == "isalpha") {
      return all_chars(s, [](char32_t ch) { return ustr::is_word(ch) && !(ch >= '0' && ch <= '9') && ch != '_'; });
    }
    if (name == "isalnum") return all_chars(s, [](char32_t ch) { return ustr::is_word(ch) && ch != '_'; });
    if (name == "isascii") return Value::boolean(self.str_is_ascii());
    if (name == "islower") return Value::boolean(ustr::is_lower(s));
    if (name == "isupper") return Value::boolean(ustr::is_upper(s));
    if (name == "isprintable") {
      for (size_t i = 0; i < s.size();) {
        if (!ustr::is_printable(ustr::next(s, i))) return Value::boolean(false);
      }
      return Value::boolean(true);
    }
  }
  return make_error("the str method '{}' is not supported", name);
}

Expected<Value> dict_method(const Value& self, const std::string& name, const CallArgs& c) {
  const DictObj& d = self.dict_obj();
  if (name == "get") {
    CHAT_CHECK(positional(name, c, 1, 2));
    if (!is_hashable(c.args[0])) return make_error("unhashable type: '{}'", type_name(c.args[0]));
    if (const Value* v = d.find(c.args[0])) return *v;
    return c.args.size() > 1 ? c.args[1] : Value::none();
  }
  if (name == "items" || name == "keys" || name == "values") {
    CHAT_CHECK(positional(name, c, 0, 0));
    std::vector<Value> out;
    out.reserve(d.entries.size());
    for (const auto& [k, v] : d.entries) {
      if (name == "items") {
        out.push_back(Value::list({k, v}, SeqKind::kTuple));
      } else {
        out.push_back(name == "keys" ? k : v);
      }
    }
    const SeqKind kind = name == "items" ? SeqKind::kDictItems : name == "keys" ? SeqKind::kDictKeys : SeqKind::kDictValues;
    return Value::list(std::move(out), kind);
  }
  if (name == "copy") {
    CHAT_CHECK(positional(name, c, 0, 0));
    return Value::dict(d.entries);
  }
  return make_error("the dict method '{}' is not supported", name);
}

Expected<Value> list_method(const Value& self, const std::string& name, const CallArgs& c) {
  const auto& items = self.items();
  if (name == "count") {
    CHAT_CHECK(positional(name, c, 1, 1));
    return Value::integer(std::count_if(items.begin(), items.end(), [&](const Value& v) { return py_equal(v, c.args[0]); }));
  }
  if (name == "index") {
    CHAT_CHECK(positional(name, c, 1, 1));
    for (size_t i = 0; i < items.size(); ++i) {
      if (py_equal(items[i], c.args[0])) return Value::integer(static_cast<int64_t>(i));
    }
    auto r = to_repr(c.args[0]);
    return make_error("{} is not in list", r ? *r : "value");
  }
  if (name == "copy") {
    CHAT_CHECK(positional(name, c, 0, 0));
    return Value::list(items);
  }
  return make_error("the list method '{}' is not supported", name);
}

Expected<Value> loop_method(const Value& self, const std::string& name, const CallArgs& c) {
  LoopObj& l = self.loop_obj();
  if (!c.kwargs.empty()) return make_error("loop.{}() takes no keyword arguments", name);
  if (name == "cycle") {
    if (c.args.empty()) return make_error("no items for cycling given");
    return c.args[l.index0 % c.args.size()];
  }
  // changed(*values): true the first time and whenever the values differ from the last call.
  const Value now = Value::list(c.args);
  if (l.has_changed_value && py_equal(Value::list(l.changed_value), now)) return Value::boolean(false);
  l.has_changed_value = true;
  l.changed_value = c.args;
  return Value::boolean(true);
}

}  // namespace

bool has_method(const Value& obj, std::string_view name) {
  switch (obj.kind()) {
    case Kind::kString: return in(kStrMethods, name);
    case Kind::kDict: return in(kDictMethods, name);
    case Kind::kList:
      if (obj.seq_kind() == SeqKind::kList) return in(kListMethods, name);
      if (obj.seq_kind() == SeqKind::kTuple) return in(kTupleMethods, name);
      return false;
    case Kind::kLoop: return name == "cycle" || name == "changed";
    default: return false;
  }
}

bool is_unsafe_method(const Value& obj, std::string_view name) {
  if (obj.is_dict()) return in(kDictUnsafe, name);
  if (obj.is_list() && obj.seq_kind() == SeqKind::kList) return in(kListUnsafe, name);
  return false;
}

Value bind_method(const Value& obj, const std::string& name) {
  auto c = std::make_shared<CallableObj>();
  c->kind = CallableKind::kMethod;
  c->name = name;
  c->receiver = obj;
  return Value::callable(std::move(c));
}

Expected<Value> call_method(const Value& self, const std::string& name, const CallArgs& call, const RenderEnv& env) {
  switch (self.kind()) {
    case Kind::kString: return str_method(self, name, call, env);
    case Kind::kDict: return dict_method(self, name, call);
    case Kind::kList: return list_method(self, name, call);
    case Kind::kLoop: return loop_method(self, name, call);
    default: return make_error("'{}' object has no method '{}'", type_name(self), name);
  }
}

}  // namespace mx::chat
