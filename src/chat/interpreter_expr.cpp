// Expression evaluation.
#include <fmt/format.h>

#include "chat/access.h"
#include "chat/builtins.h"
#include "chat/filters.h"
#include "chat/interpreter.h"
#include "chat/jinja_tests.h"
#include "chat/methods.h"
#include "chat/operators.h"
#include "chat/py_str.h"
#include "chat/try.h"

namespace mx::chat {

Expected<Value> Interpreter::eval(const Expr& e, const ScopePtr& scope) {
  CHAT_CHECK(tick(e.pos));
  auto r = eval_inner(e, scope);
  if (!r) return locate(e.pos, r.error());
  if (r->depth() > kMaxValueDepth) {
    return locate(e.pos, make_error("value nested more than {} levels deep", kMaxValueDepth));
  }
  // Big strings cost in proportion to their size, so copying them in a loop meets the
  // step limit long before it takes noticeable time.
  if (r->is_string() && e.kind != ExprKind::kName && e.kind != ExprKind::kLiteral) {
    CHAT_CHECK(tick(e.pos, r->str().size() / 4096));
  }
  return r;
}

Expected<CallArgs> Interpreter::eval_args(const Expr& e, size_t first, const ScopePtr& scope) {
  CallArgs call;
  for (size_t i = first; i < e.args.size(); ++i) {
    CHAT_TRY(Value v, eval(*e.args[i], scope));
    call.args.push_back(std::move(v));
  }
  for (const auto& [k, x] : e.kwargs) {
    CHAT_TRY(Value v, eval(*x, scope));
    call.kwargs.emplace_back(k, std::move(v));
  }
  if (e.dyn_args) {
    CHAT_TRY(Value v, eval(*e.dyn_args, scope));
    auto items = iterate(v);
    if (!items) return locate(e.dyn_args->pos, items.error());
    for (auto& item : *items) call.args.push_back(std::move(item));
  }
  if (e.dyn_kwargs) {
    CHAT_TRY(Value v, eval(*e.dyn_kwargs, scope));
    if (!v.is_dict()) return locate(e.dyn_kwargs->pos, make_error("argument after ** must be a mapping, not {}", type_name(v)));
    for (const auto& [k, val] : v.dict_obj().entries) {
      if (!k.is_string()) return locate(e.dyn_kwargs->pos, make_error("keywords must be strings"));
      call.kwargs.emplace_back(k.str(), val);
    }
  }
  for (size_t i = 0; i < call.kwargs.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (call.kwargs[i].first == call.kwargs[j].first) {
        return locate(e.pos, make_error("got multiple values for keyword argument '{}'", call.kwargs[i].first));
      }
    }
  }
  return call;
}

Expected<Value> Interpreter::eval_call(const Expr& e, const ScopePtr& scope, const Value* caller) {
  CHAT_TRY(Value callee, eval(*e.args[0], scope));
  CHAT_TRY(CallArgs call, eval_args(e, 1, scope));
  if (caller) call.kwargs.emplace_back("caller", *caller);
  return call_value(callee, std::move(call), e.pos);
}

Expected<Value> Interpreter::call_value(const Value& callee, CallArgs args, const SourcePos& pos) {
  if (callee.is_undefined()) return make_error("{}", callee.undefined_message());
  if (!callee.is_callable()) return make_error("'{}' object is not callable", type_name(callee));
  const CallableObj& c = callee.callable_obj();
  switch (c.kind) {
    case CallableKind::kMacro: return invoke_macro(c, std::move(args), pos);
    case CallableKind::kMethod: return call_method(c.receiver, c.name, args, env_);
    case CallableKind::kBuiltin: break;
  }
  if (c.name == "raise_exception") {
    // transformers raises TemplateError(message): the message is the whole error.
    CHAT_TRY(auto a, bind_args("raise_exception", args, {"message"}));
    if (!a[0]) return make_error("raise_exception() missing 1 required positional argument: 'message'");
    CHAT_TRY(std::string message, to_str(*a[0]));
    error_located_ = true;
    return make_error("{}", message);
  }
  CHAT_TRY(Value v, call_builtin(c.name, args, env_));
  if (v.is_namespace()) namespaces_.push_back(v.ns_ptr());
  return v;
}

Expected<Value> Interpreter::eval_filter(const Expr& e, const ScopePtr& scope, const Value* input) {
  // In `{% filter a | b %}` and `{% set x | a | b %}` the block's text enters at the
  // innermost filter of the chain, whose value slot is empty.
  Value v;
  if (!e.args[0]) {
    v = *input;
  } else if (input && e.args[0]->kind == ExprKind::kFilter) {
    CHAT_TRY(v, eval_filter(*e.args[0], scope, input));
  } else {
    CHAT_TRY(v, eval(*e.args[0], scope));
  }
  CHAT_TRY(CallArgs call, eval_args(e, 1, scope));
  auto r = apply_filter(e.name, v, call, env_);
  if (!r) return locate(e.pos, r.error());
  return r;
}

Expected<Value> Interpreter::eval_inner(const Expr& e, const ScopePtr& scope) {
  switch (e.kind) {
    case ExprKind::kLiteral: return e.value;
    case ExprKind::kName: {
      if (const Value* v = scope->find(e.name)) return *v;
      return Value::undefined(fmt::format("{} is undefined", string_repr(e.name)));
    }
    case ExprKind::kList:
    case ExprKind::kTuple: {
      std::vector<Value> items;
      items.reserve(e.args.size());
      for (const auto& a : e.args) {
        CHAT_TRY(Value v, eval(*a, scope));
        items.push_back(std::move(v));
      }
      return Value::list(std::move(items), e.kind == ExprKind::kTuple ? SeqKind::kTuple : SeqKind::kList);
    }
    case ExprKind::kDict: {
      std::vector<std::pair<Value, Value>> pairs;
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        CHAT_TRY(Value k, eval(*e.args[i], scope));
        if (!is_hashable(k)) return locate(e.args[i]->pos, make_error("unhashable type: '{}'", type_name(k)));
        CHAT_TRY(Value v, eval(*e.args[i + 1], scope));
        pairs.emplace_back(std::move(k), std::move(v));
      }
      return make_dict(std::move(pairs));
    }
    case ExprKind::kGetAttr: {
      CHAT_TRY(Value obj, eval(*e.args[0], scope));
      return get_attr(obj, e.name);
    }
    case ExprKind::kGetItem: {
      CHAT_TRY(Value obj, eval(*e.args[0], scope));
      CHAT_TRY(Value key, eval(*e.args[1], scope));
      return get_item(obj, key);
    }
    case ExprKind::kSlice: {
      CHAT_TRY(Value obj, eval(*e.args[0], scope));
      Value bounds[3] = {Value::none(), Value::none(), Value::none()};
      for (size_t i = 0; i < 3; ++i) {
        if (e.args[i + 1]) {
          CHAT_TRY(bounds[i], eval(*e.args[i + 1], scope));
        }
      }
      return get_slice(obj, bounds[0], bounds[1], bounds[2]);
    }
    case ExprKind::kCall: return eval_call(e, scope, nullptr);
    case ExprKind::kFilter: return eval_filter(e, scope, nullptr);
    case ExprKind::kTest: {
      CHAT_TRY(Value v, eval(*e.args[0], scope));
      CHAT_TRY(CallArgs call, eval_args(e, 1, scope));
      CHAT_TRY(bool b, apply_test(e.name, v, call, env_));
      return Value::boolean(b);
    }
    case ExprKind::kUnary: {
      CHAT_TRY(Value v, eval(*e.args[0], scope));
      return unary_op(e.op, v);
    }
    case ExprKind::kBinary: {
      CHAT_TRY(Value a, eval(*e.args[0], scope));
      CHAT_TRY(Value b, eval(*e.args[1], scope));
      return binary_op(e.op, a, b, env_);
    }
    case ExprKind::kCompare: {
      CHAT_TRY(Value left, eval(*e.args[0], scope));
      for (size_t i = 0; i < e.ops.size(); ++i) {
        CHAT_TRY(Value right, eval(*e.args[i + 1], scope));
        CHAT_TRY(bool ok, compare_op(e.ops[i], left, right));
        if (!ok) return Value::boolean(false);
        left = std::move(right);
      }
      return Value::boolean(true);
    }
    case ExprKind::kAnd:
    case ExprKind::kOr: {
      CHAT_TRY(Value left, eval(*e.args[0], scope));
      if (truthy(left) == (e.kind == ExprKind::kOr)) return left;
      return eval(*e.args[1], scope);
    }
    case ExprKind::kNot: {
      CHAT_TRY(Value v, eval(*e.args[0], scope));
      return Value::boolean(!truthy(v));
    }
    case ExprKind::kCondExpr: {
      CHAT_TRY(Value cond, eval(*e.args[1], scope));
      if (truthy(cond)) return eval(*e.args[0], scope);
      if (e.args[2]) return eval(*e.args[2], scope);
      return Value::undefined(fmt::format(
          "the inline if-expression on line {} evaluated to false and no else section was defined.", e.pos.line));
    }
    case ExprKind::kConcat: {
      std::string out;
      for (const auto& a : e.args) {
        CHAT_TRY(Value v, eval(*a, scope));
        CHAT_TRY(std::string s, to_str(v));
        out += s;
        CHAT_CHECK(check_size(out.size(), env_));
      }
      return Value::string(std::move(out));
    }
  }
  return Value();
}

}  // namespace mx::chat
