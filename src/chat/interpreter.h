// Walks the syntax tree: one Interpreter per render, so a parsed template can be rendered
// from many threads at once. Scoping follows Jinja: `if` shares its scope, every loop
// iteration, macro call, {% set %}/{% filter %} block and {% with %} gets a new one, and a
// macro sees the variables of the scope it was defined in as they are when it is called.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "chat/ast.h"
#include "chat/runtime.h"
#include "chat/value.h"
#include "core/expected.h"

namespace mx::chat {

class Scope {
 public:
  explicit Scope(std::shared_ptr<Scope> parent) : parent_(std::move(parent)) {}
  // Looks the name up here and then in the enclosing scopes.
  const Value* find(std::string_view name) const;
  void set(const std::string& name, Value v) { vars_[name] = std::move(v); }
  void clear() { vars_.clear(); }

 private:
  std::shared_ptr<Scope> parent_;
  std::map<std::string, Value, std::less<>> vars_;
};

struct InterpreterLimits {
  size_t max_output_bytes = 16u << 20;
  uint64_t max_steps = 10'000'000;
  int max_call_depth = 100;
};

class Interpreter {
 public:
  Interpreter(const InterpreterLimits& limits, const RenderEnv& env) : limits_(limits), env_(env) {}
  // Breaks the reference cycles a render can create (a macro stored in the scope it
  // captured, a namespace holding itself) so everything is freed.
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Renders the template body with `context` (a dict) as its variables.
  Expected<std::string> render(const std::vector<StmtPtr>& body, const Value& context);

 private:
  using ScopePtr = std::shared_ptr<Scope>;
  enum class Flow { kNormal, kBreak, kContinue };

  // Statements (interpreter.cpp).
  Expected<Flow> exec_block(const std::vector<StmtPtr>& body, const ScopePtr& scope, std::string& out);
  Expected<Flow> exec(const Stmt& s, const ScopePtr& scope, std::string& out);
  Expected<Flow> exec_for(const Stmt& s, const ScopePtr& scope, std::string& out);
  Expected<void> assign(const Target& t, const Value& v, const ScopePtr& scope);
  Expected<std::string> render_block(const std::vector<StmtPtr>& body, const ScopePtr& scope);
  Expected<void> emit(std::string& out, std::string_view text, const SourcePos& pos);
  Value make_macro(const Stmt& s, const ScopePtr& scope);
  Expected<Value> invoke_macro(const CallableObj& m, CallArgs args, const SourcePos& pos);

  // Expressions (interpreter_expr.cpp).
  Expected<Value> eval(const Expr& e, const ScopePtr& scope);
  Expected<Value> eval_inner(const Expr& e, const ScopePtr& scope);
  Expected<CallArgs> eval_args(const Expr& e, size_t first, const ScopePtr& scope);
  Expected<Value> eval_call(const Expr& e, const ScopePtr& scope, const Value* caller);
  Expected<Value> eval_filter(const Expr& e, const ScopePtr& scope, const Value* input);
  Expected<Value> call_value(const Value& callee, CallArgs args, const SourcePos& pos);

  // Errors: the innermost failing node adds its position once; raise_exception's message
  // is passed through as the template wrote it.
  Error locate(const SourcePos& pos, Error e);
  Expected<void> tick(const SourcePos& pos, uint64_t cost = 1);

  InterpreterLimits limits_;
  RenderEnv env_;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
  bool error_located_ = false;
  std::vector<ScopePtr> captured_scopes_;
  std::vector<std::shared_ptr<NamespaceObj>> namespaces_;
};

}  // namespace mx::chat
