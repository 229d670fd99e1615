#include "chat/py_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "chat/access.h"
#include "chat/py_str.h"
#include "chat/try.h"
#include "chat/ustr.h"

namespace mx::chat {

namespace {

struct Spec {
  char32_t fill = ' ';
  char align = 0;  // < > = ^ or 0 for the type's default
  char sign = '-';
  bool alternate = false;
  int64_t width = 0;
  char grouping = 0;
  int64_t precision = -1;
  char type = 0;
};

bool parse_int(std::string_view s, size_t& i, int64_t& out) {
  const size_t start = i;
  out = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (out > 100000000) return false;
    out = out * 10 + (s[i++] - '0');
  }
  return i > start;
}

Expected<Spec> parse_spec(std::string_view s) {
  Spec spec;
  size_t i = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '=' || c == '^'; };
  if (!s.empty()) {
    size_t k = 0;
    const char32_t first = ustr::next(s, k);
    if (k < s.size() && is_align(s[k])) {
      spec.fill = first;
      spec.align = s[k];
      i = k + 1;
    } else if (is_align(s[0])) {
      spec.align = s[0];
      i = 1;
    }
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) spec.sign = s[i++];
  if (i < s.size() && s[i] == 'z') ++i;
  if (i < s.size() && s[i] == '#') {
    spec.alternate = true;
    ++i;
  }
  if (i < s.size() && s[i] == '0') {
    if (!spec.align) {
      spec.fill = '0';
      spec.align = '=';
    }
    ++i;
  }
  if (i < s.size() && s[i] >= '0' && s[i] <= '9' && !parse_int(s, i, spec.width)) return make_error("Too many decimal digits in format string");
  if (i < s.size() && (s[i] == ',' || s[i] == '_')) spec.grouping = s[i++];
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!parse_int(s, i, spec.precision)) return make_error("Format specifier missing precision");
  }
  if (i < s.size()) spec.type = s[i++];
  if (i < s.size()) return make_error("Invalid format specifier '{}'", s);
  return spec;
}

Expected<std::string> align(std::string body, std::string prefix, const Spec& spec, char default_align,
                            const RenderEnv& env) {
  const size_t n = ustr::length(body) + ustr::length(prefix);
  const char a = spec.align ? spec.align : default_align;
  if (spec.width <= static_cast<int64_t>(n)) return prefix + body;
  CHAT_CHECK(check_size(static_cast<size_t>(spec.width) > env.max_string_bytes / 4 ? env.max_string_bytes + 1 : static_cast<size_t>(spec.width) * 4, env));
  const size_t total = static_cast<size_t>(spec.width) - n;
  std::string fill;
  ustr::append(fill, spec.fill);
  auto repeat = [&](size_t k) {
    std::string out;
    for (size_t j = 0; j < k; ++j) out += fill;
    return out;
  };
  switch (a) {
    case '<': return prefix + body + repeat(total);
    case '^': return repeat(total / 2) + prefix + body + repeat(total - total / 2);
    case '=': return prefix + repeat(total) + body;
    default: return repeat(total) + prefix + body;
  }
}

std::string group_digits(const std::string& digits, char sep, size_t every) {
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i && (n - i) % every == 0) out += sep;
    out += digits[i];
  }
  return out;
}

Expected<std::string> format_float(double d, const Spec& spec, const RenderEnv& env) {
  char type = spec.type;
  const int64_t p = spec.precision < 0 ? 6 : std::min<int64_t>(spec.precision, 100);
  std::string body;
  const bool neg = std::signbit(d) && !std::isnan(d);
  const double a = std::fabs(d);
  char buf[512];
  if (type == 0 && spec.precision < 0) {
    body = float_repr(a);
  } else if (std::isinf(a) || std::isnan(a)) {
    body = std::isnan(a) ? "nan" : "inf";
    if (type == 'F' || type == 'E' || type == 'G') body = std::isnan(a) ? "NAN" : "INF";
  } else if (type == '%') {
    std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(p), a * 100);
    body = std::string(buf) + "%";
  } else {
    const char conv = type == 0 ? 'g' : type;
    if (conv != 'f' && conv != 'F' && conv != 'e' && conv != 'E' && conv != 'g' && conv != 'G') {
      return make_error("Unknown format code '{}' for object of type 'float'", type);
    }
    if ((conv == 'f' || conv == 'F') && a >= 1e50) return make_error("float too large to format");
    const std::string f = std::string("%") + (spec.alternate ? "#" : "") + ".*" + conv;
    std::snprintf(buf, sizeof(buf), f.c_str(), static_cast<int>(type == 0 && p == 0 ? 1 : p), a);
    body = buf;
    if (type == 0 && body.find_first_of(".e") == std::string::npos) body += ".0";
  }
  std::string prefix = neg ? "-" : (spec.sign == '-' ? "" : std::string(1, spec.sign));
  if (spec.grouping) {
    const size_t dot = body.find_first_of(".e%");
    const std::string int_part = body.substr(0, dot);
    if (int_part.find_first_not_of("0123456789") == std::string::npos) {
      body = group_digits(int_part, spec.grouping, 3) + (dot == std::string::npos ? "" : body.substr(dot));
    }
  }
  return align(body, prefix, spec, '>', env);
}

Expected<std::string> format_value(const Value& v, std::string_view spec_text, const RenderEnv& env) {
  if (spec_text.empty()) return to_str(v);
  CHAT_TRY(Spec spec, parse_spec(spec_text));
  if (v.is_string()) {
    if (spec.type && spec.type != 's') return make_error("Unknown format code '{}' for object of type 'str'", spec.type);
    if (spec.align == '=') return make_error("'=' alignment not allowed in string format specifier");
    std::string body = v.str();
    if (spec.precision >= 0) {
      const std::u32string cps = ustr::decode(body);
      body = ustr::encode(std::u32string_view(cps).substr(0, static_cast<size_t>(std::min<int64_t>(spec.precision, static_cast<int64_t>(cps.size())))));
    }
    return align(std::move(body), "", spec, '<', env);
  }
  if (v.is_float() || (v.is_integral() && spec.type && std::string_view("eEfFgG%").find(spec.type) != std::string_view::npos)) {
    return format_float(v.to_double(), spec, env);
  }
  if (v.is_integral()) {
    const int64_t i = v.as_int();
    const uint64_t mag = i < 0 ? 0 - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
    std::string digits, alt;
    switch (spec.type) {
      case 0:
      case 'd':
      case 'n': digits = fmt::to_string(mag); break;
      case 'b': digits = fmt::format("{:b}", mag); alt = "0b"; break;
      case 'o': digits = fmt::format("{:o}", mag); alt = "0o"; break;
      case 'x': digits = fmt::format("{:x}", mag); alt = "0x"; break;
      case 'X': digits = fmt::format("{:X}", mag); alt = "0X"; break;
      case 'c': {
        if (i < 0 || i > 0x10FFFF) return make_error("%c arg not in range(0x110000)");
        std::string ch;
        ustr::append(ch, static_cast<char32_t>(i));
        return align(ch, "", spec, '<', env);
      }
      default: return make_error("Unknown format code '{}' for object of type 'int'", spec.type);
    }
    if (spec.grouping) digits = group_digits(digits, spec.grouping, (spec.type == 0 || spec.type == 'd' || spec.type == 'n') ? 3 : 4);
    std::string prefix = i < 0 ? "-" : (spec.sign == '-' ? "" : std::string(1, spec.sign));
    if (spec.alternate) prefix += alt;
    return align(digits, prefix, spec, '>', env);
  }
  return make_error("unsupported format string passed to {}.__format__", type_name(v));
}

}  // namespace

Expected<std::string> str_format(std::string_view f, const CallArgs& call, const RenderEnv& env) {
  std::string out;
  size_t auto_index = 0;
  bool used_auto = false, used_manual = false;
  for (size_t i = 0; i < f.size();) {
    const char c = f[i];
    if (c == '}') {
      if (i + 1 < f.size() && f[i + 1] == '}') {
        out += '}';
        i += 2;
        continue;
      }
      return make_error("Single '}}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '{') {
      out += '{';
      i += 2;
      continue;
    }
    // Find the matching '}', allowing one level of nested fields in the spec.
    size_t j = i + 1;
    int depth = 1;
    while (j < f.size() && depth > 0) {
      if (f[j] == '{') ++depth;
      if (f[j] == '}') --depth;
      if (depth > 0) ++j;
    }
    if (j >= f.size()) return make_error("expected '}}' before end of string");
    std::string_view field = f.substr(i + 1, j - i - 1);
    i = j + 1;
    std::string_view spec_text, conv;
    size_t colon = std::string_view::npos, bang = std::string_view::npos;
    for (size_t k = 0, bracket = 0; k < field.size(); ++k) {
      if (field[k] == '[') ++bracket;
      if (field[k] == ']' && bracket) --bracket;
      if (bracket) continue;
      if (field[k] == '!' && bang == std::string_view::npos && colon == std::string_view::npos) bang = k;
      if (field[k] == ':' && colon == std::string_view::npos) colon = k;
    }
    if (colon != std::string_view::npos) spec_text = field.substr(colon + 1);
    if (bang != std::string_view::npos) conv = field.substr(bang + 1, (colon == std::string_view::npos ? field.size() : colon) - bang - 1);
    std::string_view name = field.substr(0, std::min(bang, colon));
    // The first part names an argument; then .attr and [key] parts.
    size_t end = name.find_first_of(".[");
    std::string_view first = name.substr(0, end);
    Value obj;
    if (first.empty()) {
      if (used_manual) return make_error("cannot switch from manual field specification to automatic field numbering");
      used_auto = true;
      if (auto_index >= call.args.size()) return make_error("Replacement index {} out of range for positional args tuple", auto_index);
      obj = call.args[auto_index++];
    } else if (first.find_first_not_of("0123456789") == std::string_view::npos) {
      if (used_auto) return make_error("cannot switch from automatic field numbering to manual field specification");
      used_manual = true;
      const size_t idx = first.size() > 9 ? call.args.size() : std::stoul(std::string(first));
      if (idx >= call.args.size()) return make_error("Replacement index {} out of range for positional args tuple", first);
      obj = call.args[idx];
    } else {
      auto it = std::find_if(call.kwargs.begin(), call.kwargs.end(), [&](const auto& kv) { return kv.first == first; });
      if (it == call.kwargs.end()) return make_error("KeyError: {}", string_repr(first));
      obj = it->second;
    }
    while (end != std::string_view::npos && end < name.size()) {
      if (name[end] == '.') {
        const size_t next = name.find_first_of(".[", end + 1);
        CHAT_TRY(obj, get_attr(obj, std::string(name.substr(end + 1, next - end - 1))));
        end = next;
      } else {
        const size_t close = name.find(']', end);
        if (close == std::string_view::npos) return make_error("Missing ']' in format string");
        std::string_view key = name.substr(end + 1, close - end - 1);
        const bool numeric = !key.empty() && key.size() < 10 && key.find_first_not_of("0123456789") == std::string_view::npos;
        CHAT_TRY(obj, get_item(obj, numeric ? Value::integer(std::stoll(std::string(key))) : Value::string(std::string(key))));
        end = close + 1 < name.size() ? close + 1 : std::string_view::npos;
      }
    }
    if (obj.is_undefined()) {
      // The formatter prints an Undefined as ''.
      obj = Value::string("");
    }
    if (conv == "r" || conv == "a") {
      CHAT_TRY(std::string r, to_repr(obj));
      obj = Value::string(std::move(r));
    } else if (conv == "s") {
      CHAT_TRY(std::string s, to_str(obj));
      obj = Value::string(std::move(s));
    } else if (!conv.empty()) {
      return make_error("Unknown conversion specifier {}", conv);
    }
    std::string spec(spec_text);
    if (spec.find('{') != std::string::npos) {
      CHAT_TRY(spec, str_format(spec, call, env));
    }
    CHAT_TRY(std::string piece, format_value(obj, spec, env));
    out += piece;
    CHAT_CHECK(check_size(out.size(), env));
  }
  return out;
}

Expected<std::string> percent_format(std::string_view f, const Value& values, const RenderEnv& env) {
  std::vector<Value> args;
  const bool is_tuple = values.is_list() && values.seq_kind() == SeqKind::kTuple;
  if (is_tuple) {
    args = values.items();
  } else {
    args.push_back(values);
  }
  size_t next = 0;
  bool used_mapping = false;
  std::string out;
  auto take = [&]() -> Expected<Value> {
    if (next >= args.size()) return make_error("not enough arguments for format string");
    return args[next++];
  };
  for (size_t i = 0; i < f.size();) {
    if (f[i] != '%') {
      out += f[i++];
      continue;
    }
    if (++i >= f.size()) return make_error("incomplete format");
    Value arg;
    bool have_arg = false;
    if (f[i] == '(') {
      const size_t close = f.find(')', i);
      if (close == std::string_view::npos) return make_error("incomplete format key");
      if (!values.is_dict()) return make_error("format requires a mapping");
      const Value* v = values.dict_obj().find(f.substr(i + 1, close - i - 1));
      if (!v) return make_error("KeyError: {}", string_repr(f.substr(i + 1, close - i - 1)));
      arg = *v;
      have_arg = used_mapping = true;
      i = close + 1;
    }
    Spec spec;
    spec.align = '>';
    for (; i < f.size() && std::string_view("-+ #0").find(f[i]) != std::string_view::npos; ++i) {
      if (f[i] == '-') spec.align = '<';
      if (f[i] == '+' || (f[i] == ' ' && spec.sign != '+')) spec.sign = f[i];
      if (f[i] == '#') spec.alternate = true;
      if (f[i] == '0' && spec.align != '<') {
        spec.fill = '0';
        spec.align = '=';
      }
    }
    if (i < f.size() && f[i] == '*') {
      CHAT_TRY(Value w, take());
      CHAT_TRY(spec.width, int_arg("%", "*", w));
      ++i;
    } else if (i < f.size() && f[i] >= '0' && f[i] <= '9' && !parse_int(f, i, spec.width)) {
      return make_error("width too big");
    }
    if (i < f.size() && f[i] == '.') {
      ++i;
      if (i < f.size() && f[i] == '*') {
        CHAT_TRY(Value p, take());
        CHAT_TRY(spec.precision, int_arg("%", "*", p));
        ++i;
      } else if (!parse_int(f, i, spec.precision)) {
        spec.precision = 0;
      }
    }
    if (i >= f.size()) return make_error("incomplete format");
    const char conv = f[i++];
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (!have_arg) {
      CHAT_TRY(arg, take());
    }
    std::string piece;
    switch (conv) {
      case 's':
      case 'r':
      case 'a': {
        CHAT_TRY(std::string s, conv == 's' ? to_str(arg) : to_repr(arg));
        if (spec.precision >= 0) {
          const std::u32string cps = ustr::decode(s);
          s = ustr::encode(std::u32string_view(cps).substr(0, static_cast<size_t>(std::min<int64_t>(spec.precision, static_cast<int64_t>(cps.size())))));
        }
        if (spec.align == '=') spec.align = '>';
        spec.fill = ' ';
        CHAT_TRY(piece, align(std::move(s), "", spec, '>', env));
        break;
      }
      case 'd':
      case 'i':
      case 'u':
      case 'x':
      case 'X':
      case 'o': {
        if (!arg.is_number()) return make_error("%{} format: a real number is required, not {}", conv, type_name(arg));
        if (arg.is_float() && !(std::fabs(arg.as_float()) < 9.2e18)) return make_error("cannot convert float to integer");
        Value iv = arg.is_float() ? Value::integer(static_cast<int64_t>(std::trunc(arg.as_float()))) : arg;
        spec.type = (conv == 'i' || conv == 'u') ? 'd' : conv;
        CHAT_TRY(piece, format_value(iv, fmt::format("{}{}{}{}{}", spec.fill == U'0' ? "0" : "", spec.sign == '-' ? "" : std::string(1, spec.sign),
                                                     spec.alternate ? "#" : "", spec.width ? fmt::to_string(spec.width) : "", spec.type), env));
        if (spec.align == '<' && spec.width) {
          std::string trimmed = ustr::strip(piece, std::nullopt, true, false);
          Spec left = spec;
          CHAT_TRY(piece, align(trimmed, "", left, '<', env));
        }
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G': {
        if (!arg.is_number()) return make_error("must be real number, not {}", type_name(arg));
        spec.type = conv;
        if (spec.precision < 0) spec.precision = 6;
        CHAT_TRY(piece, format_float(arg.to_double(), spec, env));
        break;
      }
      case 'c': {
        std::string ch;
        if (arg.is_string() && ustr::length(arg.str()) == 1) {
          ch = arg.str();
        } else if (arg.is_integral() && arg.as_int() >= 0 && arg.as_int() <= 0x10FFFF) {
          ustr::append(ch, static_cast<char32_t>(arg.as_int()));
        } else {
          return make_error("%c requires an int or a unicode character");
        }
        CHAT_TRY(piece, align(ch, "", spec, '>', env));
        break;
      }
      default: return make_error("unsupported format character '{}'", conv);
    }
    out += piece;
    CHAT_CHECK(check_size(out.size(), env));
  }
  // Python only insists every argument is used when they come as a tuple or a single
  // value that is not a mapping (lists, dicts and Undefined count as mappings here).
  const bool mapping_like = !is_tuple && (values.is_dict() || values.is_list() || values.is_undefined());
  if (!used_mapping && !mapping_like && next < args.size()) {
    return make_error("not all arguments converted during string formatting");
  }
  return out;
}

std::string strftime_c(std::string_view fmt, const std::tm& t) {
  // datetime.strftime handles %f, %z and %Z itself (a naive datetime has no zone).
  std::string f;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] == '%' && i + 1 < fmt.size()) {
      const char c = fmt[i + 1];
      if (c == 'f') {
        f += "000000";
        ++i;
        continue;
      }
      if (c == 'z' || c == 'Z') {
        ++i;
        continue;
      }
      f += fmt[i];
      f += fmt[++i];
      continue;
    }
    f += fmt[i];
  }
  if (f.empty()) return "";
  std::string buf(f.size() * 8 + 64, '\0');
  const size_t n = std::strftime(buf.data(), buf.size(), f.c_str(), &t);
  buf.resize(n);
  return buf;
}

}  // namespace mx::chat
