// Internal to the parser: the recursive-descent Parser over the token list, shared by
// parser_statements.cpp (tags) and parser_expressions.cpp (expressions).
#pragma once

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "chat/ast.h"
#include "chat/lexer.h"
#include "chat/parser.h"
#include "chat/try.h"
#include "core/expected.h"

namespace mx::chat::parser_detail {

using Stmts = std::vector<StmtPtr>;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Expected<Stmts> parse() {
    CHAT_TRY(Stmts body, subparse({}));
    if (cur().type != Tok::kEof) return fail(cur(), fmt::format("unexpected '{}'", describe(cur())));
    return body;
  }

 private:
  // --- token stream ---
  const Token& cur() const { return t_[i_]; }
  const Token& look(size_t n = 1) const { return t_[std::min(i_ + n, t_.size() - 1)]; }
  const Token& advance() {
    const Token& t = t_[i_];
    if (i_ + 1 < t_.size()) ++i_;
    return t;
  }
  bool is(Tok type) const { return cur().type == type; }
  bool is_name(std::string_view v) const { return cur().type == Tok::kName && cur().text == v; }
  bool skip(Tok type) {
    if (!is(type)) return false;
    advance();
    return true;
  }
  bool skip_name(std::string_view v) {
    if (!is_name(v)) return false;
    advance();
    return true;
  }

  static SourcePos pos_of(const Token& t) { return {t.line, t.col}; }

  Error fail(const Token& t, std::string_view msg) const {
    return make_error("template:{}:{}: syntax error: {}", t.line, t.col, msg);
  }

  Expected<const Token*> expect(Tok type, std::string_view what) {
    if (!is(type)) return fail(cur(), fmt::format("expected '{}', got '{}'", what, describe(cur())));
    return &advance();
  }

  Expected<void> expect_name(std::string_view v) {
    if (!is_name(v)) return fail(cur(), fmt::format("expected '{}', got '{}'", v, describe(cur())));
    advance();
    return {};
  }

  // Guards recursion; the destructor gives the level back.
  struct Nest {
    explicit Nest(int& d) : d_(d) { ++d_; }
    ~Nest() { --d_; }
    int& d_;
  };
  Expected<void> nested() const {
    if (depth_ > kMaxNesting) return fail(cur(), "template nested too deeply");
    return {};
  }

  ExprPtr node(ExprKind kind, SourcePos pos) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }

  // Sets the node's height and rejects trees too tall to evaluate safely.
  Expected<ExprPtr> done(ExprPtr e) {
    int h = 0;
    for (const auto& a : e->args) if (a) h = std::max(h, a->height);
    for (const auto& [k, a] : e->kwargs) h = std::max(h, a->height);
    if (e->dyn_args) h = std::max(h, e->dyn_args->height);
    if (e->dyn_kwargs) h = std::max(h, e->dyn_kwargs->height);
    e->height = h + 1;
    if (e->height > kMaxExprHeight) {
      return make_error("template:{}:{}: syntax error: expression nested too deeply", e->pos.line, e->pos.col);
    }
    return e;
  }

  // --- statements (parser_statements.cpp) ---
  Expected<Stmts> subparse(std::initializer_list<std::string_view> end_tags);
  // Parses a body after the tag's %} up to one of the end tags, leaving the end tag current.
  Expected<Stmts> statements(std::initializer_list<std::string_view> end_tags);
  // statements() followed by the end tag itself.
  Expected<Stmts> block_body(std::string_view end_tag);
  Expected<void> statement(Stmts& out);
  Expected<void> parse_for(Stmts& out, StmtPtr s);
  Expected<void> parse_if(Stmts& out, StmtPtr s);
  Expected<void> parse_set(Stmts& out, StmtPtr s);
  Expected<void> parse_signature(Stmt& s);
  // Macro and call-block bodies are functions in Jinja: loops outside do not reach in.
  Expected<Stmts> function_body(std::string_view end_tag);
  Expected<void> parse_macro(Stmts& out, StmtPtr s);
  Expected<void> parse_call_block(Stmts& out, StmtPtr s);
  Expected<void> parse_filter_block(Stmts& out, StmtPtr s);
  Expected<void> parse_with(Stmts& out, StmtPtr s);
  Expected<Target> to_target(const Expr& e);

  // --- expressions (parser_expressions.cpp) ---
  bool is_tuple_end(std::initializer_list<std::string_view> extra) const;
  // simplified: names and literals only (assignment targets).
  Expected<ExprPtr> parse_tuple(bool simplified, bool with_condexpr, std::initializer_list<std::string_view> extra, bool explicit_parens);
  Expected<ExprPtr> parse_expression(bool with_condexpr);
  Expected<ExprPtr> parse_condexpr();
  Expected<ExprPtr> binary(ExprKind kind, SourcePos pos, ExprPtr l, ExprPtr r, Op op = Op::kAdd);
  Expected<ExprPtr> parse_or();
  Expected<ExprPtr> parse_and();
  Expected<ExprPtr> parse_not();
  Expected<ExprPtr> parse_compare();
  Expected<ExprPtr> parse_math1();
  Expected<ExprPtr> parse_concat();
  Expected<ExprPtr> parse_math2();
  Expected<ExprPtr> parse_pow();
  Expected<ExprPtr> parse_unary(bool with_filter);
  Expected<ExprPtr> parse_primary();
  Expected<ExprPtr> parse_postfix(ExprPtr e);
  Expected<ExprPtr> parse_filter_expr(ExprPtr e);
  Expected<ExprPtr> parse_subscript(ExprPtr obj);
  // One subscript: an expression (bounds[0]) or a slice start:stop:step (any may be null).
  struct Subscript {
    bool is_slice = false;
    ExprPtr bounds[3];
  };

  Expected<Subscript> parse_subscribed();
  Expected<void> parse_call_args(Expr& e);
  Expected<ExprPtr> parse_call(ExprPtr callee);
  Expected<std::string> dotted_name();
  Expected<ExprPtr> parse_filter(ExprPtr value, bool start_inline);
  Expected<ExprPtr> parse_test(ExprPtr value);

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

// Checks unknown filters and tests the way Jinja does, and marks the macros that use
// varargs, kwargs or caller.
Expected<void> check_template(const std::vector<StmtPtr>& body);

}  // namespace mx::chat::parser_detail
