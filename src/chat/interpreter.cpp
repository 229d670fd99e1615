// Statement execution, scopes, loops and macro calls.
#include "chat/interpreter.h"

#include <fmt/format.h>

#include "chat/access.h"
#include "chat/builtins.h"
#include "chat/py_str.h"
#include "chat/try.h"

namespace mx::chat {

const Value* Scope::find(std::string_view name) const {
  for (const Scope* s = this; s; s = s->parent_.get()) {
    auto it = s->vars_.find(name);
    if (it != s->vars_.end()) return &it->second;
  }
  return nullptr;
}

Interpreter::~Interpreter() {
  for (auto& ns : namespaces_) ns->attrs.clear();
  for (auto& s : captured_scopes_) s->clear();
}

Error Interpreter::locate(const SourcePos& pos, Error e) {
  if (error_located_) return e;
  error_located_ = true;
  return make_error("template:{}:{}: {}", pos.line, pos.col, e.message);
}

Expected<void> Interpreter::tick(const SourcePos& pos, uint64_t cost) {
  steps_ += cost;
  if (steps_ > limits_.max_steps) {
    return locate(pos, make_error("the template ran more than {} steps (runaway loop?)", limits_.max_steps));
  }
  return {};
}

Expected<std::string> Interpreter::render(const std::vector<StmtPtr>& body, const Value& context) {
  auto root = std::make_shared<Scope>(nullptr);
  for (std::string_view name : builtin_names()) root->set(std::string(name), builtin_value(name));
  if (context.is_dict()) {
    for (const auto& [k, v] : context.dict_obj().entries) {
      if (k.is_string()) root->set(k.str(), v);
    }
  }
  std::string out;
  CHAT_CHECK(exec_block(body, root, out));
  return out;
}

Expected<void> Interpreter::emit(std::string& out, std::string_view text, const SourcePos& pos) {
  if (out.size() + text.size() > limits_.max_output_bytes) {
    return locate(pos, make_error("the output exceeds {} bytes", limits_.max_output_bytes));
  }
  out += text;
  return {};
}

Expected<Interpreter::Flow> Interpreter::exec_block(const std::vector<StmtPtr>& body, const ScopePtr& scope,
                                                    std::string& out) {
  for (const auto& s : body) {
    CHAT_TRY(Flow f, exec(*s, scope, out));
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Expected<std::string> Interpreter::render_block(const std::vector<StmtPtr>& body, const ScopePtr& scope) {
  std::string out;
  CHAT_CHECK(exec_block(body, std::make_shared<Scope>(scope), out));
  return out;
}

Value Interpreter::make_macro(const Stmt& s, const ScopePtr& scope) {
  auto c = std::make_shared<CallableObj>();
  c->kind = CallableKind::kMacro;
  c->name = s.name;
  c->macro = &s;
  c->closure = scope;
  captured_scopes_.push_back(scope);
  return Value::callable(std::move(c));
}

Expected<Interpreter::Flow> Interpreter::exec(const Stmt& s, const ScopePtr& scope, std::string& out) {
  CHAT_CHECK(tick(s.pos));
  switch (s.kind) {
    case StmtKind::kData:
      CHAT_CHECK(emit(out, s.text, s.pos));
      return Flow::kNormal;
    case StmtKind::kPrint: {
      CHAT_TRY(Value v, eval(*s.expr, scope));
      auto text = to_str(v);
      if (!text) return locate(s.expr->pos, text.error());
      CHAT_CHECK(emit(out, *text, s.pos));
      return Flow::kNormal;
    }
    case StmtKind::kIf:
      for (const auto& [test, body] : s.branches) {
        CHAT_TRY(Value cond, eval(*test, scope));
        if (truthy(cond)) return exec_block(body, scope, out);
      }
      return exec_block(s.else_body, scope, out);
    case StmtKind::kFor: return exec_for(s, scope, out);
    case StmtKind::kSet: {
      CHAT_TRY(Value v, eval(*s.expr, scope));
      CHAT_CHECK(assign(s.target, v, scope));
      return Flow::kNormal;
    }
    case StmtKind::kSetBlock: {
      CHAT_TRY(std::string text, render_block(s.body, scope));
      Value v = Value::string(std::move(text));
      if (s.expr) {
        CHAT_TRY(v, eval_filter(*s.expr, scope, &v));
      }
      CHAT_CHECK(assign(s.target, v, scope));
      return Flow::kNormal;
    }
    case StmtKind::kMacro:
      scope->set(s.name, make_macro(s, scope));
      return Flow::kNormal;
    case StmtKind::kCallBlock: {
      const Value caller = make_macro(s, scope);
      CHAT_TRY(Value v, eval_call(*s.expr, scope, &caller));
      auto text = to_str(v);
      if (!text) return locate(s.pos, text.error());
      CHAT_CHECK(emit(out, *text, s.pos));
      return Flow::kNormal;
    }
    case StmtKind::kFilterBlock: {
      CHAT_TRY(std::string text, render_block(s.body, scope));
      const Value body = Value::string(std::move(text));
      CHAT_TRY(Value v, eval_filter(*s.expr, scope, &body));
      auto result = to_str(v);
      if (!result) return locate(s.pos, result.error());
      CHAT_CHECK(emit(out, *result, s.pos));
      return Flow::kNormal;
    }
    case StmtKind::kScope: {
      auto inner = std::make_shared<Scope>(scope);
      for (const auto& [target, value] : s.withs) {
        CHAT_TRY(Value v, eval(*value, scope));
        CHAT_CHECK(assign(target, v, inner));
      }
      return exec_block(s.body, inner, out);
    }
    case StmtKind::kBreak: return Flow::kBreak;
    case StmtKind::kContinue: return Flow::kContinue;
  }
  return Flow::kNormal;
}

Expected<Interpreter::Flow> Interpreter::exec_for(const Stmt& s, const ScopePtr& scope, std::string& out) {
  CHAT_TRY(Value seq, eval(*s.expr, scope));
  auto all = iterate(seq);
  if (!all) return locate(s.expr->pos, all.error());
  std::vector<Value> items;
  if (s.cond) {
    for (Value& item : *all) {
      auto test_scope = std::make_shared<Scope>(scope);
      CHAT_CHECK(assign(s.target, item, test_scope));
      CHAT_TRY(Value keep, eval(*s.cond, test_scope));
      if (truthy(keep)) items.push_back(std::move(item));
    }
  } else {
    items = std::move(*all);
  }
  if (items.empty()) return exec_block(s.else_body, std::make_shared<Scope>(scope), out);

  auto loop = std::make_shared<LoopObj>();
  loop->items = std::move(items);
  const Value loop_value = Value::loop(loop);
  for (size_t i = 0; i < loop->items.size(); ++i) {
    CHAT_CHECK(tick(s.pos));
    loop->index0 = i;
    auto iteration = std::make_shared<Scope>(scope);
    CHAT_CHECK(assign(s.target, loop->items[i], iteration));
    iteration->set("loop", loop_value);
    CHAT_TRY(Flow f, exec_block(s.body, iteration, out));
    if (f == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

Expected<void> Interpreter::assign(const Target& t, const Value& v, const ScopePtr& scope) {
  switch (t.kind) {
    case Target::Kind::kName:
      scope->set(t.name, v);
      return {};
    case Target::Kind::kNamespaceAttr: {
      const Value* ns = scope->find(t.name);
      if (!ns || !ns->is_namespace()) {
        return locate(t.pos, make_error("cannot assign attribute on non-namespace object"));
      }
      ns->ns_obj().set(t.attr, v);
      return {};
    }
    case Target::Kind::kTuple: {
      auto items = iterate(v);
      if (!items) return locate(t.pos, make_error("cannot unpack non-iterable {} object", type_name(v)));
      if (items->size() != t.items.size()) {
        if (items->size() > t.items.size()) {
          return locate(t.pos, make_error("too many values to unpack (expected {})", t.items.size()));
        }
        return locate(t.pos, make_error("not enough values to unpack (expected {}, got {})", t.items.size(), items->size()));
      }
      for (size_t i = 0; i < items->size(); ++i) CHAT_CHECK(assign(t.items[i], (*items)[i], scope));
      return {};
    }
  }
  return {};
}

Expected<Value> Interpreter::invoke_macro(const CallableObj& m, CallArgs args, const SourcePos& pos) {
  if (call_depth_ >= limits_.max_call_depth) {
    return locate(pos, make_error("macro calls nested more than {} deep (runaway recursion?)", limits_.max_call_depth));
  }
  const Stmt& def = *m.macro;
  auto scope = std::make_shared<Scope>(m.closure);
  const size_t n = def.params.size();
  std::vector<bool> have(n, false);
  for (size_t i = 0; i < n && i < args.args.size(); ++i) {
    scope->set(def.params[i], args.args[i]);
    have[i] = true;
  }
  auto take_kwarg = [&](const std::string& name, Value& out) {
    for (auto it = args.kwargs.begin(); it != args.kwargs.end(); ++it) {
      if (it->first == name) {
        out = std::move(it->second);
        args.kwargs.erase(it);
        return true;
      }
    }
    return false;
  };
  if (args.args.size() < n) {
    for (size_t i = args.args.size(); i < n; ++i) {
      Value v;
      if (take_kwarg(def.params[i], v)) {
        scope->set(def.params[i], std::move(v));
        have[i] = true;
      }
    }
  }
  // Defaults are evaluated in the macro's scope, in order, so they see earlier parameters.
  for (size_t i = 0; i < n; ++i) {
    if (have[i]) continue;
    if (def.defaults[i]) {
      CHAT_TRY(Value v, eval(*def.defaults[i], scope));
      scope->set(def.params[i], std::move(v));
    } else {
      scope->set(def.params[i], Value::undefined(fmt::format("parameter {} was not provided", string_repr(def.params[i]))));
    }
  }
  if (def.uses_caller) {
    Value caller;
    if (!take_kwarg("caller", caller)) caller = Value::undefined("No caller defined");
    scope->set("caller", std::move(caller));
  }
  if (def.uses_kwargs) {
    std::vector<std::pair<Value, Value>> entries;
    for (auto& [k, v] : args.kwargs) entries.emplace_back(Value::string(k), std::move(v));
    scope->set("kwargs", make_dict(std::move(entries)));
  } else if (!args.kwargs.empty()) {
    if (args.kwargs.front().first == "caller") {
      return locate(pos, make_error("macro '{}' was invoked with two values for the special caller argument", m.name));
    }
    return locate(pos, make_error("macro '{}' takes no keyword argument '{}'", m.name, args.kwargs.front().first));
  }
  if (def.uses_varargs) {
    std::vector<Value> extra;
    for (size_t i = n; i < args.args.size(); ++i) extra.push_back(args.args[i]);
    scope->set("varargs", Value::list(std::move(extra), SeqKind::kTuple));
  } else if (args.args.size() > n) {
    return locate(pos, make_error("macro '{}' takes not more than {} argument(s)", m.name, n));
  }
  ++call_depth_;
  std::string out;
  auto r = exec_block(def.body, scope, out);
  --call_depth_;
  if (!r) return r.error();
  return Value::string(std::move(out));
}

}  // namespace mx::chat
