// The compile-time checks Jinja makes after parsing.
#include "chat/filters.h"
#include "chat/jinja_tests.h"
#include "chat/parser_impl.h"
#include "chat/try.h"

namespace mx::chat::parser_detail {

namespace {

// Jinja reports an unknown filter or test when it compiles the template, except inside an
// `if` test or body or an inline if-expression, where it waits until the filter runs. This
// pass makes the same distinction and records which macros use varargs/kwargs/caller.
class Checker {
 public:
  Expected<void> stmts(const Stmts& body, bool soft) {
    for (const auto& s : body) CHAT_CHECK(stmt(*s, soft));
    return {};
  }

 private:
  Expected<void> stmt(Stmt& s, bool soft) {
    switch (s.kind) {
      case StmtKind::kData:
      case StmtKind::kBreak:
      case StmtKind::kContinue: return {};
      case StmtKind::kPrint:
      case StmtKind::kSet:
        CHAT_CHECK(target(s.target, false));
        return expr(s.expr.get(), soft);
      case StmtKind::kIf:
        for (auto& [test, body] : s.branches) {
          CHAT_CHECK(expr(test.get(), true));
          CHAT_CHECK(stmts(body, true));
        }
        return stmts(s.else_body, true);
      case StmtKind::kFor:
        CHAT_CHECK(target(s.target, true));
        ++for_depth_;
        CHAT_CHECK(expr(s.expr.get(), soft));
        CHAT_CHECK(expr(s.cond.get(), false));
        CHAT_CHECK(stmts(s.body, false));
        CHAT_CHECK(stmts(s.else_body, false));
        --for_depth_;
        return {};
      case StmtKind::kSetBlock:
      case StmtKind::kFilterBlock:
        if (s.kind == StmtKind::kSetBlock) CHAT_CHECK(target(s.target, false));
        CHAT_CHECK(expr(s.expr.get(), false));
        return stmts(s.body, false);
      case StmtKind::kMacro:
      case StmtKind::kCallBlock: {
        if (s.kind == StmtKind::kCallBlock) CHAT_CHECK(expr(s.expr.get(), soft));
        functions_.push_back(&s);
        for (const auto& d : s.defaults) CHAT_CHECK(expr(d.get(), false));
        auto r = stmts(s.body, false);
        functions_.pop_back();
        return r;
      }
      case StmtKind::kScope:
        for (const auto& [t, value] : s.withs) {
          CHAT_CHECK(target(t, false));
          CHAT_CHECK(expr(value.get(), soft));
        }
        return stmts(s.body, false);
    }
    return {};
  }

  // Jinja refuses any assignment to `loop` inside a for statement, its target included.
  Expected<void> target(const Target& t, bool for_target) {
    if (for_depth_ == 0 && !for_target) return {};
    if (t.kind == Target::Kind::kName && t.name == "loop") {
      return make_error("template:{}:{}: can't assign to special loop variable in for-loop target", t.pos.line, t.pos.col);
    }
    for (const auto& item : t.items) CHAT_CHECK(target(item, for_target));
    return {};
  }

  Expected<void> expr(const Expr* e, bool soft) {
    if (!e) return {};
    if (e->kind == ExprKind::kCondExpr) soft = true;
    if (e->kind == ExprKind::kName) {
      for (Stmt* f : functions_) {
        f->uses_varargs |= e->name == "varargs";
        f->uses_kwargs |= e->name == "kwargs";
        f->uses_caller |= e->name == "caller";
      }
    }
    if (!soft && e->kind == ExprKind::kFilter && !filter_exists(e->name)) {
      return make_error("template:{}:{}: no filter named '{}'", e->pos.line, e->pos.col, e->name);
    }
    if (!soft && e->kind == ExprKind::kTest && !test_exists(e->name)) {
      return make_error("template:{}:{}: no test named '{}'", e->pos.line, e->pos.col, e->name);
    }
    for (const auto& a : e->args) CHAT_CHECK(expr(a.get(), soft));
    for (const auto& [k, a] : e->kwargs) CHAT_CHECK(expr(a.get(), soft));
    CHAT_CHECK(expr(e->dyn_args.get(), soft));
    return expr(e->dyn_kwargs.get(), soft);
  }

  std::vector<Stmt*> functions_;
  int for_depth_ = 0;
};

}  // namespace

Expected<void> check_template(const std::vector<StmtPtr>& body) { return Checker().stmts(body, false); }

}  // namespace mx::chat::parser_detail
