#include "chat/operators.h"

#include <cmath>

#include "chat/access.h"
#include "chat/py_format.h"
#include "chat/py_str.h"
#include "chat/try.h"

namespace mx::chat {

namespace {

const char* symbol(Op op) {
  switch (op) {
    case Op::kAdd: return "+";
    case Op::kSub: return "-";
    case Op::kMul: return "*";
    case Op::kDiv: return "/";
    case Op::kFloorDiv: return "//";
    case Op::kMod: return "%";
    case Op::kPow: return "** or pow()";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    default: return "?";
  }
}

Error unsupported(Op op, const Value& a, const Value& b) {
  return make_error("unsupported operand type(s) for {}: '{}' and '{}'", symbol(op), type_name(a), type_name(b));
}

Error overflow() { return make_error("integer result does not fit in 64 bits"); }

Expected<Value> repeat(const Value& seq, int64_t n, const RenderEnv& env) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    const size_t unit = seq.str().size();
    if (unit && static_cast<uint64_t>(n) > env.max_string_bytes / unit + 1) return check_size(env.max_string_bytes + 1, env).error();
    CHAT_CHECK(check_size(unit * static_cast<size_t>(n), env));
    std::string out;
    out.reserve(unit * static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return Value::string(std::move(out), seq.is_markup());
  }
  const size_t unit = seq.items().size();
  if (unit && static_cast<uint64_t>(n) > env.max_string_bytes / (unit * 16) + 1) return check_size(env.max_string_bytes + 1, env).error();
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.items().begin(), seq.items().end());
  return Value::list(std::move(out), seq.seq_kind());
}

Expected<Value> add(const Value& a, const Value& b, const RenderEnv& env) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return Value::number(a.to_double() + b.to_double());
    int64_t r = 0;
    if (__builtin_add_overflow(a.as_int(), b.as_int(), &r)) return overflow();
    return Value::integer(r);
  }
  if (a.is_string() && b.is_string()) {
    CHAT_CHECK(check_size(a.str().size() + b.str().size(), env));
    // Markup escapes the plain string it is joined with.
    if (a.is_markup() && !b.is_markup()) return Value::string(a.str() + html_escape(b.str()), true);
    if (b.is_markup() && !a.is_markup()) return Value::string(html_escape(a.str()) + b.str(), true);
    return Value::string(a.str() + b.str(), a.is_markup());
  }
  if (a.is_sequence_list() && b.is_sequence_list() && a.seq_kind() == b.seq_kind()) {
    std::vector<Value> out = a.items();
    out.insert(out.end(), b.items().begin(), b.items().end());
    return Value::list(std::move(out), a.seq_kind());
  }
  if (a.is_string()) return make_error("can only concatenate str (not \"{}\") to str", type_name(b));
  if (a.is_sequence_list()) return make_error("can only concatenate {} (not \"{}\") to {}", type_name(a), type_name(b), type_name(a));
  return unsupported(Op::kAdd, a, b);
}

Expected<Value> int_pow(int64_t base, int64_t exp) {
  int64_t result = 1;
  while (exp > 0) {
    if (exp & 1) {
      if (__builtin_mul_overflow(result, base, &result)) return overflow();
    }
    exp >>= 1;
    if (exp && __builtin_mul_overflow(base, base, &base)) return overflow();
  }
  return Value::integer(result);
}

Expected<Value> arithmetic(Op op, const Value& a, const Value& b) {
  const bool floats = a.is_float() || b.is_float();
  if (floats) {
    const double x = a.to_double(), y = b.to_double();
    switch (op) {
      case Op::kSub: return Value::number(x - y);
      case Op::kMul: return Value::number(x * y);
      case Op::kDiv:
        if (y == 0) return make_error("float division by zero");
        return Value::number(x / y);
      case Op::kFloorDiv:
        if (y == 0) return make_error("float floor division by zero");
        return Value::number(std::floor(x / y));
      case Op::kMod: {
        if (y == 0) return make_error("float modulo");
        double m = std::fmod(x, y);
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        return Value::number(m);
      }
      case Op::kPow: {
        if (x == 0 && y < 0) return make_error("0.0 cannot be raised to a negative power");
        if (x < 0 && y != std::floor(y)) return make_error("complex results are not supported");
        return Value::number(std::pow(x, y));
      }
      default: break;
    }
    return unsupported(op, a, b);
  }
  const int64_t x = a.as_int(), y = b.as_int();
  int64_t r = 0;
  switch (op) {
    case Op::kSub:
      if (__builtin_sub_overflow(x, y, &r)) return overflow();
      return Value::integer(r);
    case Op::kMul:
      if (__builtin_mul_overflow(x, y, &r)) return overflow();
      return Value::integer(r);
    case Op::kDiv:
      if (y == 0) return make_error("division by zero");
      return Value::number(static_cast<double>(x) / static_cast<double>(y));
    case Op::kFloorDiv:
    case Op::kMod: {
      if (y == 0) return make_error("integer division or modulo by zero");
      if (x == INT64_MIN && y == -1) {
        if (op == Op::kMod) return Value::integer(0);
        return overflow();
      }
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        --q;
        m += y;
      }
      return Value::integer(op == Op::kFloorDiv ? q : m);
    }
    case Op::kPow:
      if (y < 0) {
        if (x == 0) return make_error("0.0 cannot be raised to a negative power");
        return Value::number(std::pow(static_cast<double>(x), static_cast<double>(y)));
      }
      return int_pow(x, y);
    default: break;
  }
  return unsupported(op, a, b);
}

}  // namespace

Expected<Value> binary_op(Op op, const Value& a, const Value& b, const RenderEnv& env) {
  if (a.is_undefined()) return make_error("{}", a.undefined_message());
  // str % x is str's own operator, which formats an Undefined like any other value.
  if (op == Op::kMod && a.is_string()) {
    CHAT_TRY(std::string s, percent_format(a.str(), b, env));
    return Value::string(std::move(s), a.is_markup());
  }
  if (b.is_undefined()) return make_error("{}", b.undefined_message());
  if (op == Op::kAdd) return add(a, b, env);
  if (op == Op::kMul) {
    if ((a.is_string() || a.is_sequence_list()) && b.is_integral()) return repeat(a, b.as_int(), env);
    if ((b.is_string() || b.is_sequence_list()) && a.is_integral()) return repeat(b, a.as_int(), env);
  }
  if (a.is_number() && b.is_number()) return arithmetic(op, a, b);
  if (op == Op::kMul && (a.is_string() || a.is_sequence_list() || b.is_string() || b.is_sequence_list())) {
    return make_error("can't multiply sequence by non-int of type '{}'",
                      type_name(a.is_string() || a.is_sequence_list() ? b : a));
  }
  return unsupported(op, a, b);
}

Expected<Value> unary_op(Op op, const Value& a) {
  if (a.is_undefined()) return make_error("{}", a.undefined_message());
  if (a.is_float()) return Value::number(op == Op::kNeg ? -a.as_float() : a.as_float());
  if (a.is_integral()) {
    if (op == Op::kPos) return Value::integer(a.as_int());
    if (a.as_int() == INT64_MIN) return overflow();
    return Value::integer(-a.as_int());
  }
  return make_error("bad operand type for unary {}: '{}'", op == Op::kNeg ? "-" : "+", type_name(a));
}

Expected<bool> compare_op(Op op, const Value& a, const Value& b) {
  switch (op) {
    case Op::kEq: return py_equal(a, b);
    case Op::kNe: return !py_equal(a, b);
    case Op::kIn:
    case Op::kNotIn: {
      CHAT_TRY(bool found, contains(b, a));
      return op == Op::kIn ? found : !found;
    }
    default: break;
  }
  if (a.is_undefined()) return make_error("{}", a.undefined_message());
  if (b.is_undefined()) return make_error("{}", b.undefined_message());
  int c = 0;
  if (!py_compare(a, b, c)) {
    return make_error("'{}' not supported between instances of '{}' and '{}'", symbol(op), type_name(a), type_name(b));
  }
  switch (op) {
    case Op::kLt: return c < 0;
    case Op::kLe: return c <= 0;
    case Op::kGt: return c > 0;
    default: return c >= 0;
  }
}

}  // namespace mx::chat
