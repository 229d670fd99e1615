#include "chat/py_str.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "chat/ustr.h"

namespace mx::chat {

namespace {

Expected<void> repr_into(const Value& v, std::string& out, int depth);

Expected<void> repr_items(const std::vector<Value>& items, std::string& out, int depth) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    if (auto r = repr_into(items[i], out, depth); !r) return r;
  }
  return {};
}

Expected<void> repr_into(const Value& v, std::string& out, int depth) {
  if (depth > kMaxValueDepth) return make_error("value is nested too deeply to print");
  switch (v.kind()) {
    case Kind::kUndefined: out += "Undefined"; return {};
    case Kind::kNone: out += "None"; return {};
    case Kind::kBool: out += v.as_bool() ? "True" : "False"; return {};
    case Kind::kInt: out += fmt::to_string(v.as_int()); return {};
    case Kind::kFloat: out += float_repr(v.as_float()); return {};
    case Kind::kString:
      if (v.is_markup()) {
        out += "Markup(" + string_repr(v.str()) + ")";
      } else {
        out += string_repr(v.str());
      }
      return {};
    case Kind::kList: {
      const auto& items = v.items();
      switch (v.seq_kind()) {
        case SeqKind::kList:
          out += '[';
          if (auto r = repr_items(items, out, depth + 1); !r) return r;
          out += ']';
          return {};
        case SeqKind::kTuple:
          out += '(';
          if (auto r = repr_items(items, out, depth + 1); !r) return r;
          out += items.size() == 1 ? ",)" : ")";
          return {};
        case SeqKind::kDictItems:
        case SeqKind::kDictKeys:
        case SeqKind::kDictValues:
          out += type_name(v) + "([";
          if (auto r = repr_items(items, out, depth + 1); !r) return r;
          out += "])";
          return {};
        case SeqKind::kGenerator:
        case SeqKind::kReverseIter:
          return make_error("cannot print a {} object (the reference prints its memory address); "
                            "convert it with '| list'", type_name(v));
      }
      return {};
    }
    case Kind::kDict: {
      out += '{';
      bool first = true;
      for (const auto& [k, val] : v.dict_obj().entries) {
        if (!first) out += ", ";
        first = false;
        if (auto r = repr_into(k, out, depth + 1); !r) return r;
        out += ": ";
        if (auto r = repr_into(val, out, depth + 1); !r) return r;
      }
      out += '}';
      return {};
    }
    case Kind::kNamespace: {
      out += "<Namespace {";
      bool first = true;
      for (const auto& [k, val] : v.ns_obj().attrs) {
        if (!first) out += ", ";
        first = false;
        out += string_repr(k) + ": ";
        if (auto r = repr_into(val, out, depth + 1); !r) return r;
      }
      out += "}>";
      return {};
    }
    case Kind::kCallable: {
      const CallableObj& c = v.callable_obj();
      if (c.kind == CallableKind::kMacro) {
        out += "<Macro " + string_repr(c.name) + ">";
        return {};
      }
      if (c.kind == CallableKind::kBuiltin && c.name == "dict") {
        out += "<class '" + c.name + "'>";
        return {};
      }
      if (c.kind == CallableKind::kBuiltin && c.name == "namespace") {
        out += "<class 'jinja2.utils.Namespace'>";
        return {};
      }
      return make_error("cannot print the function '{}' (the reference prints its memory address)", c.name);
    }
    case Kind::kLoop: {
      const LoopObj& l = v.loop_obj();
      out += fmt::format("<LoopContext {}/{}>", l.index0 + 1, l.items.size());
      return {};
    }
  }
  return {};
}

}  // namespace

Expected<std::string> to_repr(const Value& v) {
  std::string out;
  if (auto r = repr_into(v, out, 0); !r) return r.error();
  return out;
}

Expected<std::string> to_str(const Value& v) {
  if (v.is_string()) return v.str();
  if (v.is_undefined()) return std::string();
  return to_repr(v);
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  // sci looks like [-]d[.ddd]e[+-]xx
  std::string sign;
  if (!sci.empty() && sci[0] == '-') {
    sign = "-";
    sci.remove_prefix(1);
  }
  const size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits += c;
  }
  int exp = 0;
  std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exp);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();

  if (exp < -4 || exp >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += exp < 0 ? "e-" : "e+";
    const int a = exp < 0 ? -exp : exp;
    if (a < 10) out += '0';
    out += std::to_string(a);
    return out;
  }
  std::string out = sign;
  if (exp < 0) {
    out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
    out += digits + std::string(static_cast<size_t>(exp) + 1 - digits.size(), '0') + ".0";
  } else {
    out += digits.substr(0, static_cast<size_t>(exp) + 1) + "." + digits.substr(static_cast<size_t>(exp) + 1);
  }
  return out;
}

std::string string_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (size_t i = 0; i < s.size();) {
    const char32_t c = ustr::next(s, i);
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
    } else if (c < 0x7F || ustr::is_printable(c)) {
      ustr::append(out, c);
    } else if (c <= 0xFF) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
    } else if (c <= 0xFFFF) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += fmt::format("\\U{:08x}", static_cast<unsigned>(c));
    }
  }
  out += quote;
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&#39;"; break;
      case '"': out += "&#34;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string object_type_repr(const Value& v) {
  switch (v.kind()) {
    case Kind::kNone: return "None";
    case Kind::kString: return v.is_markup() ? "markupsafe.Markup object" : "str object";
    case Kind::kNamespace: return "jinja2.utils.Namespace object";
    case Kind::kLoop: return "jinja2.runtime.LoopContext object";
    case Kind::kUndefined: return "jinja2.runtime.Undefined object";
    case Kind::kCallable:
      if (v.callable_obj().kind == CallableKind::kMacro) return "jinja2.runtime.Macro object";
      return type_name(v) + " object";
    default: return type_name(v) + " object";
  }
}

}  // namespace mx::chat
