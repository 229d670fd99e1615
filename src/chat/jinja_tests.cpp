#include "chat/jinja_tests.h"

#include <algorithm>

#include "chat/access.h"
#include "chat/filters.h"
#include "chat/operators.h"
#include "chat/py_str.h"
#include "chat/try.h"
#include "chat/ustr.h"

namespace mx::chat {

namespace {

constexpr std::string_view kTests[] = {
    "odd", "even", "divisibleby", "defined", "undefined", "filter", "test", "none", "boolean", "false", "true",
    "integer", "float", "lower", "upper", "string", "mapping", "number", "sequence", "iterable", "callable",
    "sameas", "escaped", "in", "==", "eq", "equalto", "!=", "ne", ">", "gt", "greaterthan", "ge", ">=", "<",
    "lt", "lessthan", "<=", "le"};

// value % n == expected, with Python's operators (so a string on the left is an error).
Expected<bool> mod_equals(const Value& value, const Value& n, int64_t expected, const RenderEnv& env) {
  CHAT_TRY(Value m, binary_op(Op::kMod, value, n, env));
  return py_equal(m, Value::integer(expected));
}

Expected<bool> one_arg(std::string_view name, const Value& value, const Value& other, const RenderEnv& env) {
  if (name == "divisibleby") return mod_equals(value, other, 0, env);
  if (name == "sameas") return value.same_object(other);
  if (name == "in") return contains(other, value);
  if (name == "==" || name == "eq" || name == "equalto") return compare_op(Op::kEq, value, other);
  if (name == "!=" || name == "ne") return compare_op(Op::kNe, value, other);
  if (name == ">" || name == "gt" || name == "greaterthan") return compare_op(Op::kGt, value, other);
  if (name == ">=" || name == "ge") return compare_op(Op::kGe, value, other);
  if (name == "<" || name == "lt" || name == "lessthan") return compare_op(Op::kLt, value, other);
  return compare_op(Op::kLe, value, other);
}

bool is_sequence(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kString:
    case Kind::kDict: return true;
    case Kind::kList: return v.is_sequence_list();
    default: return false;
  }
}

bool is_iterable(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kString:
    case Kind::kList:
    case Kind::kDict:
    case Kind::kLoop: return true;
    default: return false;
  }
}

}  // namespace

bool test_exists(std::string_view name) {
  return std::find(std::begin(kTests), std::end(kTests), name) != std::end(kTests);
}

Expected<bool> apply_test(std::string_view name, const Value& v, const CallArgs& call, const RenderEnv& env) {
  if (!test_exists(name)) return make_error("no test named '{}'", name);
  static constexpr std::string_view kOneArg[] = {"divisibleby", "sameas", "in", "==", "eq", "equalto", "!=", "ne",
                                                 ">", "gt", "greaterthan", ">=", "ge", "<", "lt", "lessthan",
                                                 "<=", "le"};
  if (std::find(std::begin(kOneArg), std::end(kOneArg), name) != std::end(kOneArg)) {
    CHAT_TRY(auto bound, bind_args(name, call, {"other"}));
    if (!bound[0]) return make_error("{}() missing 1 required positional argument", name);
    return one_arg(name, v, *bound[0], env);
  }
  if (!call.args.empty() || !call.kwargs.empty()) {
    return make_error("test '{}' takes no arguments ({} given)", name, call.args.size() + call.kwargs.size());
  }
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "sequence") return is_sequence(v);
  if (name == "iterable") return is_iterable(v);
  if (name == "callable") return v.is_callable() || v.is_loop() || v.is_undefined();
  if (name == "escaped") return v.is_markup();
  if (name == "odd") return mod_equals(v, Value::integer(2), 1, env);
  if (name == "even") return mod_equals(v, Value::integer(2), 0, env);
  if (name == "filter") return v.is_string() && filter_exists(v.str());
  if (name == "test") return v.is_string() && test_exists(v.str());
  CHAT_TRY(std::string s, to_str(v));
  return name == "lower" ? ustr::is_lower(s) : ustr::is_upper(s);
}

}  // namespace mx::chat
