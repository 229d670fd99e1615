// The filter table and the string, number and JSON filters.
#include "chat/filters.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cctype>
#include <cstdio>

#include <fmt/format.h>

#include "chat/access.h"
#include "chat/filter_fns.h"
#include "chat/json_value.h"
#include "chat/methods.h"
#include "chat/py_format.h"
#include "chat/py_str.h"
#include "chat/try.h"
#include "chat/ustr.h"

namespace mx::chat {

namespace {

using filters::FilterFn;

bool flag(const std::optional<Value>& v) { return v && truthy(*v); }

// markupsafe's soft_str: a Markup stays Markup, anything else becomes str().
Expected<Value> soft_str(const Value& v) {
  if (v.is_string()) return v;
  CHAT_TRY(std::string s, to_str(v));
  return Value::string(std::move(s));
}

Expected<Value> f_string(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_CHECK(bind_args("string", c, {}));
  return soft_str(v);
}

Expected<Value> f_safe(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_CHECK(bind_args("safe", c, {}));
  CHAT_TRY(std::string s, to_str(v));
  return Value::string(std::move(s), true);
}

Expected<Value> f_escape(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_CHECK(bind_args("escape", c, {}));
  if (v.is_markup()) return v;
  CHAT_TRY(std::string s, to_str(v));
  return Value::string(html_escape(s), true);
}

Expected<Value> f_forceescape(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_CHECK(bind_args("forceescape", c, {}));
  CHAT_TRY(std::string s, to_str(v));
  return Value::string(html_escape(s), true);
}

Expected<Value> f_trim(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_TRY(auto a, bind_args("trim", c, {"chars"}));
  CHAT_TRY(Value s, soft_str(v));
  std::optional<std::string> chars;
  if (a[0] && !a[0]->is_none()) {
    CHAT_TRY(chars, str_arg("trim", "chars", *a[0]));
  }
  return Value::string(ustr::strip(s.str(), chars ? std::optional<std::string_view>(*chars) : std::nullopt, true, true),
                       s.is_markup());
}

template <std::string (*F)(std::string_view)>
Expected<Value> case_filter(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_CHECK(bind_args("case", c, {}));
  CHAT_TRY(Value s, soft_str(v));
  return Value::string(F(s.str()), s.is_markup());
}

// Jinja's title: every run after one of - ( { [ < or whitespace starts upper-cased.
Expected<Value> f_title(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_CHECK(bind_args("title", c, {}));
  CHAT_TRY(Value s, soft_str(v));
  auto is_sep = [](char32_t ch) { return ch == '-' || ch == '(' || ch == '{' || ch == '[' || ch == '<' || ustr::is_space(ch); };
  std::string out;
  bool start = true;
  bool prev_sep = false;
  const std::string& text = s.str();
  for (size_t i = 0; i < text.size();) {
    const char32_t ch = ustr::next(text, i);
    const bool sep = is_sep(ch);
    if (sep != prev_sep) start = true;
    prev_sep = sep;
    if (start && !sep) {
      ustr::append(out, ustr::to_upper(ch));
    } else {
      ustr::append(out, sep ? ch : ustr::to_lower(ch));
    }
    start = false;
  }
  return Value::string(std::move(out));
}

Expected<Value> f_default(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_TRY(auto a, bind_args("default", c, {"default_value", "boolean"}));
  if (v.is_undefined() || (flag(a[1]) && !truthy(v))) return a[0] ? *a[0] : Value::string("");
  return v;
}

Expected<Value> f_replace(const Value& v, const CallArgs& c, const RenderEnv& env) {
  CHAT_TRY(auto a, bind_args("replace", c, {"old", "new", "count"}));
  if (!a[0] || !a[1]) return make_error("replace() missing required arguments 'old' and 'new'");
  CHAT_TRY(std::string s, to_str(v));
  CHAT_TRY(std::string old_s, to_str(*a[0]));
  CHAT_TRY(std::string new_s, to_str(*a[1]));
  int64_t count = -1;
  if (a[2] && !a[2]->is_none()) {
    CHAT_TRY(count, int_arg("replace", "count", *a[2]));
  }
  std::string out = ustr::replace(s, old_s, new_s, count);
  CHAT_CHECK(check_size(out.size(), env));
  return Value::string(std::move(out));
}

Expected<Value> f_center(const Value& v, const CallArgs& c, const RenderEnv& env) {
  CHAT_TRY(auto a, bind_args("center", c, {"width"}));
  CHAT_TRY(Value s, soft_str(v));
  CallArgs call;
  call.args.push_back(a[0] ? *a[0] : Value::integer(80));
  return call_method(s, "center", call, env);
}

Expected<Value> f_indent(const Value& v, const CallArgs& c, const RenderEnv& env) {
  CHAT_TRY(auto a, bind_args("indent", c, {"width", "first", "blank"}));
  std::string indention = "    ";
  if (a[0]) {
    if (a[0]->is_string()) {
      indention = a[0]->str();
    } else {
      CHAT_TRY(int64_t w, int_arg("indent", "width", *a[0]));
      CHAT_CHECK(check_size(static_cast<size_t>(std::max<int64_t>(w, 0)), env));
      indention = std::string(static_cast<size_t>(std::max<int64_t>(w, 0)), ' ');
    }
  }
  if (!v.is_string()) return make_error("indent() expects a string, not '{}'", type_name(v));
  const std::string s = v.str() + "\n";  // Jinja's quirk so splitlines sees a last line
  const std::vector<std::string> lines = ustr::splitlines(s);
  std::string out;
  if (flag(a[2])) {
    for (size_t i = 0; i < lines.size(); ++i) out += (i ? "\n" + indention : "") + lines[i];
  } else {
    out = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) out += "\n" + (lines[i].empty() ? "" : indention + lines[i]);
  }
  if (flag(a[1])) out = indention + out;
  CHAT_CHECK(check_size(out.size(), env));
  return Value::string(std::move(out), v.is_markup());
}

Expected<Value> f_wordcount(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_CHECK(bind_args("wordcount", c, {}));
  CHAT_TRY(std::string s, to_str(v));
  int64_t n = 0;
  bool in_word = false;
  for (size_t i = 0; i < s.size();) {
    const bool w = ustr::is_word(ustr::next(s, i));
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value::integer(n);
}

Expected<Value> f_truncate(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_TRY(auto a, bind_args("truncate", c, {"length", "killwords", "end", "leeway"}));
  int64_t len = 255, leeway = 5;
  if (a[0]) {
    CHAT_TRY(len, int_arg("truncate", "length", *a[0]));
  }
  if (a[3] && !a[3]->is_none()) {
    CHAT_TRY(leeway, int_arg("truncate", "leeway", *a[3]));
  }
  std::string end = "...";
  if (a[2]) {
    CHAT_TRY(end, str_arg("truncate", "end", *a[2]));
  }
  CHAT_TRY(std::string s, to_str(v));
  const std::u32string cps = ustr::decode(s);
  const auto end_len = static_cast<int64_t>(ustr::length(end));
  if (len < end_len) return make_error("expected length >= {}, got {}", end_len, len);
  if (leeway < 0) return make_error("expected leeway >= 0, got {}", leeway);
  if (static_cast<int64_t>(cps.size()) <= len + leeway) return v;
  std::u32string head = cps.substr(0, static_cast<size_t>(len - end_len));
  if (!flag(a[1])) {
    const size_t sp = head.rfind(U' ');
    if (sp != std::u32string::npos) head = head.substr(0, sp);
  }
  return Value::string(ustr::encode(head) + end);
}

Expected<Value> f_format(const Value& v, const CallArgs& c, const RenderEnv& env) {
  if (!c.args.empty() && !c.kwargs.empty()) {
    return make_error("can't handle positional and keyword arguments at the same time");
  }
  CHAT_TRY(Value s, soft_str(v));
  Value values;
  if (!c.kwargs.empty()) {
    std::vector<std::pair<Value, Value>> entries;
    for (const auto& [k, val] : c.kwargs) entries.emplace_back(Value::string(k), val);
    values = make_dict(std::move(entries));
  } else {
    values = Value::list(c.args, SeqKind::kTuple);
  }
  CHAT_TRY(std::string out, percent_format(s.str(), values, env));
  return Value::string(std::move(out), s.is_markup());
}

// Python's int(str, base): surrounding whitespace, a sign, digits with single underscores.
std::optional<int64_t> parse_py_int(std::string_view s, int base) {
  std::string t = ustr::strip(s, std::nullopt, true, true);
  bool neg = false;
  size_t i = 0;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) neg = t[i++] == '-';
  if (i + 1 < t.size() && t[i] == '0') {
    const char p = static_cast<char>(t[i + 1] | 0x20);
    if ((p == 'x' && base == 16) || (p == 'o' && base == 8) || (p == 'b' && base == 2)) {
      i += 2;
      if (i < t.size() && t[i] == '_') ++i;
    }
  }
  std::string digits;
  for (; i < t.size(); ++i) {
    if (t[i] == '_' && !digits.empty() && i + 1 < t.size() && t[i + 1] != '_') continue;
    digits += t[i];
  }
  if (digits.empty() || base < 2 || base > 36) return std::nullopt;
  int64_t v = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) return std::nullopt;
  return neg ? -v : v;
}

// Python's float(str): whitespace, sign, digits, exponent, inf/infinity/nan, underscores.
std::optional<double> parse_py_float(std::string_view s) {
  std::string t = ustr::lower(ustr::strip(s, std::nullopt, true, true));
  std::string clean;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '_' && i > 0 && i + 1 < t.size() && std::isdigit(static_cast<unsigned char>(t[i - 1])) &&
        std::isdigit(static_cast<unsigned char>(t[i + 1]))) {
      continue;
    }
    clean += t[i];
  }
  std::string_view body = clean;
  bool neg = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body == "inf" || body == "infinity") return neg ? -INFINITY : INFINITY;
  if (body == "nan") return NAN;
  if (body.empty() || body.find_first_not_of("0123456789.e+-") != std::string_view::npos) return std::nullopt;
  double d = 0;
  auto r = std::from_chars(body.data(), body.data() + body.size(), d);
  if (r.ptr != body.data() + body.size()) return std::nullopt;
  if (r.ec == std::errc::result_out_of_range) d = body.find("e-") != std::string_view::npos ? 0.0 : INFINITY;
  return neg ? -d : d;
}

Expected<Value> f_int(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_TRY(auto a, bind_args("int", c, {"default", "base"}));
  const Value fallback = a[0] ? *a[0] : Value::integer(0);
  int64_t base = 10;
  if (a[1]) {
    CHAT_TRY(base, int_arg("int", "base", *a[1]));
  }
  if (v.is_undefined()) return make_error("{}", v.undefined_message());
  if (v.is_integral()) return Value::integer(v.as_int());
  if (v.is_float()) {
    const double d = v.as_float();
    if (std::isnan(d)) return fallback;
    if (std::isinf(d) || std::fabs(d) >= 9.2e18) return make_error("cannot convert float {} to integer", float_repr(d));
    return Value::integer(static_cast<int64_t>(std::trunc(d)));
  }
  if (v.is_string()) {
    if (auto i = parse_py_int(v.str(), static_cast<int>(base))) return Value::integer(*i);
    if (auto d = parse_py_float(v.str())) {
      if (std::isinf(*d)) return make_error("cannot convert float infinity to integer");
      if (!std::isnan(*d) && std::fabs(*d) < 9.2e18) return Value::integer(static_cast<int64_t>(std::trunc(*d)));
    }
  }
  return fallback;
}

Expected<Value> f_float(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_TRY(auto a, bind_args("float", c, {"default"}));
  if (v.is_undefined()) return make_error("{}", v.undefined_message());
  if (v.is_number()) return Value::number(v.to_double());
  if (v.is_string()) {
    if (auto d = parse_py_float(v.str())) return Value::number(*d);
  }
  return a[0] ? *a[0] : Value::number(0.0);
}

Expected<Value> f_abs(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_CHECK(bind_args("abs", c, {}));
  if (v.is_float()) return Value::number(std::fabs(v.as_float()));
  if (v.is_integral()) {
    if (v.as_int() == INT64_MIN) return make_error("integer result does not fit in 64 bits");
    return Value::integer(v.as_int() < 0 ? -v.as_int() : v.as_int());
  }
  if (v.is_undefined()) return make_error("{}", v.undefined_message());
  return make_error("bad operand type for abs(): '{}'", type_name(v));
}

Expected<Value> f_round(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_TRY(auto a, bind_args("round", c, {"precision", "method"}));
  int64_t precision = 0;
  if (a[0]) {
    CHAT_TRY(precision, int_arg("round", "precision", *a[0]));
  }
  std::string method = "common";
  if (a[1]) {
    CHAT_TRY(method, str_arg("round", "method", *a[1]));
  }
  if (method != "common" && method != "ceil" && method != "floor") return make_error("method must be common, ceil or floor");
  if (v.is_undefined()) return make_error("{}", v.undefined_message());
  if (!v.is_number()) return make_error("type {} doesn't define __round__ method", type_name(v));
  if (method != "common") {
    const double scale = std::pow(10.0, static_cast<double>(precision));
    const double x = v.to_double() * scale;
    return Value::number((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
  }
  if (v.is_integral()) {
    if (precision >= 0) return Value::integer(v.as_int());
    const double scale = std::pow(10.0, static_cast<double>(-precision));
    const double r = std::nearbyint(static_cast<double>(v.as_int()) / scale) * scale;
    if (!(std::fabs(r) < 9.2e18)) return make_error("integer result does not fit in 64 bits");
    return Value::integer(static_cast<int64_t>(r));
  }
  const double d = v.as_float();
  if (std::isnan(d) || std::isinf(d) || precision > 300) return Value::number(d);
  if (precision < -300) return Value::number(0.0 * d);
  // printf rounds the exact binary value to nearest, ties to even: what Python's round() does.
  char buf[400];
  if (precision >= 0) {
    std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(precision), d);
    return Value::number(std::strtod(buf, nullptr));
  }
  const double scale = std::pow(10.0, static_cast<double>(-precision));
  return Value::number(std::nearbyint(d / scale) * scale);
}

Expected<Value> f_tojson(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_TRY(auto a, bind_args("tojson", c, {"ensure_ascii", "indent", "separators", "sort_keys"}));
  JsonDumpOptions o;
  o.ensure_ascii = flag(a[0]);
  o.sort_keys = flag(a[3]);
  if (a[1] && !a[1]->is_none()) {
    if (a[1]->is_string()) {
      o.indent = a[1]->str();
    } else {
      CHAT_TRY(int64_t n, int_arg("tojson", "indent", *a[1]));
      o.indent = std::string(static_cast<size_t>(std::clamp<int64_t>(n, 0, 1000)), ' ');
    }
    o.item_separator = ",";
  }
  if (a[2] && !a[2]->is_none()) {
    const Value& s = *a[2];
    if (!s.is_sequence_list() || s.items().size() != 2 || !s.items()[0].is_string() || !s.items()[1].is_string()) {
      return make_error("tojson(): separators must be a pair of strings");
    }
    o.item_separator = s.items()[0].str();
    o.key_separator = s.items()[1].str();
  }
  CHAT_TRY(std::string out, to_json(v, o));
  return Value::string(std::move(out));
}

Expected<Value> f_attr(const Value& v, const CallArgs& c, const RenderEnv&) {
  CHAT_TRY(auto a, bind_args("attr", c, {"name"}));
  if (!a[0]) return make_error("attr() missing required argument 'name'");
  CHAT_TRY(std::string name, str_arg("attr", "name", *a[0]));
  if (v.is_dict() && v.dict_obj().find(name) && !v.is_undefined()) {
    // Only attributes count; a dict's keys are items.
    return Value::undefined(fmt::format("{} has no attribute {}", string_repr(object_type_repr(v)), string_repr(name)));
  }
  return get_attr(v, name);
}

struct FilterEntry {
  std::string_view name;
  FilterFn fn;  // null: a Jinja filter moxing does not implement
};

constexpr FilterEntry kFilters[] = {
    {"abs", f_abs}, {"attr", f_attr}, {"batch", filters::batch},
    {"capitalize", case_filter<ustr::capitalize>}, {"center", f_center}, {"count", filters::length},
    {"d", f_default}, {"default", f_default}, {"dictsort", filters::dictsort}, {"e", f_escape},
    {"escape", f_escape}, {"filesizeformat", nullptr}, {"first", filters::first}, {"float", f_float},
    {"forceescape", f_forceescape}, {"format", f_format}, {"groupby", filters::groupby}, {"indent", f_indent},
    {"int", f_int}, {"items", filters::items}, {"join", filters::join}, {"last", filters::last},
    {"length", filters::length}, {"list", filters::list}, {"lower", case_filter<ustr::lower>},
    {"map", filters::map}, {"max", filters::max}, {"min", filters::min}, {"pprint", nullptr},
    {"random", nullptr}, {"reject", filters::reject}, {"rejectattr", filters::rejectattr},
    {"replace", f_replace}, {"reverse", filters::reverse}, {"round", f_round}, {"safe", f_safe},
    {"select", filters::select}, {"selectattr", filters::selectattr}, {"slice", filters::slice},
    {"sort", filters::sort}, {"string", f_string}, {"striptags", nullptr}, {"sum", filters::sum},
    {"title", f_title}, {"tojson", f_tojson}, {"trim", f_trim}, {"truncate", f_truncate},
    {"unique", filters::unique}, {"upper", case_filter<ustr::upper>}, {"urlencode", nullptr},
    {"urlize", nullptr}, {"wordcount", f_wordcount}, {"wordwrap", nullptr}, {"xmlattr", nullptr},
};

const FilterEntry* find_filter(std::string_view name) {
  for (const auto& f : kFilters) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace

bool filter_exists(std::string_view name) { return find_filter(name) != nullptr; }

Expected<Value> apply_filter(std::string_view name, const Value& value, const CallArgs& call, const RenderEnv& env) {
  const FilterEntry* f = find_filter(name);
  if (!f) return make_error("no filter named '{}'", name);
  if (!f->fn) return make_error("the filter '{}' is not supported", name);
  return f->fn(value, call, env);
}

}  // namespace mx::chat
