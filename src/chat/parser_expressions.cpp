// Parsing of expressions, with Jinja2's precedence.
#include <algorithm>

#include <fmt/format.h>

#include "chat/parser_impl.h"
#include "chat/try.h"

namespace mx::chat::parser_detail {

namespace {

bool is_compare(Tok t) {
  return t == Tok::kEq || t == Tok::kNe || t == Tok::kLt || t == Tok::kLe || t == Tok::kGt || t == Tok::kGe;
}

Op compare_op(Tok t) {
  switch (t) {
    case Tok::kEq: return Op::kEq;
    case Tok::kNe: return Op::kNe;
    case Tok::kLt: return Op::kLt;
    case Tok::kLe: return Op::kLe;
    case Tok::kGt: return Op::kGt;
    default: return Op::kGe;
  }
}

}  // namespace

bool Parser::is_tuple_end(std::initializer_list<std::string_view> extra) const {
  if (is(Tok::kVarEnd) || is(Tok::kBlockEnd) || is(Tok::kRParen)) return true;
  for (auto name : extra) {
    if (is_name(name)) return true;
  }
  return false;
}

// simplified: names and literals only (assignment targets).
Expected<ExprPtr> Parser::parse_tuple(bool simplified, bool with_condexpr, std::initializer_list<std::string_view> extra, bool explicit_parens) {
  const SourcePos pos = pos_of(cur());
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) CHAT_CHECK(expect(Tok::kComma, ","));
    if (is_tuple_end(extra)) break;
    if (simplified) {
      CHAT_TRY(ExprPtr e, parse_primary());
      items.push_back(std::move(e));
    } else {
      CHAT_TRY(ExprPtr e, parse_expression(with_condexpr));
      items.push_back(std::move(e));
    }
    if (is(Tok::kComma)) {
      is_tuple = true;
    } else {
      break;
    }
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items[0]);
    if (!explicit_parens) return fail(cur(), fmt::format("expected an expression, got '{}'", describe(cur())));
  }
  auto e = node(ExprKind::kTuple, pos);
  e->args = std::move(items);
  return done(std::move(e));
}

Expected<ExprPtr> Parser::parse_expression(bool with_condexpr) {
  Nest n(depth_);
  CHAT_CHECK(nested());
  return with_condexpr ? parse_condexpr() : parse_or();
}

Expected<ExprPtr> Parser::parse_condexpr() {
  const SourcePos pos = pos_of(cur());
  CHAT_TRY(ExprPtr expr1, parse_or());
  while (skip_name("if")) {
    CHAT_TRY(ExprPtr expr2, parse_or());
    ExprPtr expr3;
    if (skip_name("else")) {
      CHAT_TRY(expr3, parse_condexpr());
    }
    auto e = node(ExprKind::kCondExpr, pos);
    e->args.push_back(std::move(expr1));
    e->args.push_back(std::move(expr2));
    e->args.push_back(std::move(expr3));
    CHAT_TRY(expr1, done(std::move(e)));
  }
  return expr1;
}

Expected<ExprPtr> Parser::binary(ExprKind kind, SourcePos pos, ExprPtr l, ExprPtr r, Op op) {
  auto e = node(kind, pos);
  e->op = op;
  e->args.push_back(std::move(l));
  e->args.push_back(std::move(r));
  return done(std::move(e));
}

Expected<ExprPtr> Parser::parse_or() {
  const SourcePos pos = pos_of(cur());
  CHAT_TRY(ExprPtr left, parse_and());
  while (skip_name("or")) {
    CHAT_TRY(ExprPtr right, parse_and());
    CHAT_TRY(left, binary(ExprKind::kOr, pos, std::move(left), std::move(right)));
  }
  return left;
}

Expected<ExprPtr> Parser::parse_and() {
  const SourcePos pos = pos_of(cur());
  CHAT_TRY(ExprPtr left, parse_not());
  while (skip_name("and")) {
    CHAT_TRY(ExprPtr right, parse_not());
    CHAT_TRY(left, binary(ExprKind::kAnd, pos, std::move(left), std::move(right)));
  }
  return left;
}

Expected<ExprPtr> Parser::parse_not() {
  if (is_name("not")) {
    const SourcePos pos = pos_of(advance());
    Nest n(depth_);
    CHAT_CHECK(nested());
    CHAT_TRY(ExprPtr inner, parse_not());
    auto e = node(ExprKind::kNot, pos);
    e->args.push_back(std::move(inner));
    return done(std::move(e));
  }
  return parse_compare();
}

Expected<ExprPtr> Parser::parse_compare() {
  const SourcePos pos = pos_of(cur());
  CHAT_TRY(ExprPtr first, parse_math1());
  auto e = node(ExprKind::kCompare, pos);
  e->args.push_back(std::move(first));
  while (true) {
    if (is_compare(cur().type)) {
      e->ops.push_back(compare_op(advance().type));
    } else if (skip_name("in")) {
      e->ops.push_back(Op::kIn);
    } else if (is_name("not") && look().type == Tok::kName && look().text == "in") {
      advance();
      advance();
      e->ops.push_back(Op::kNotIn);
    } else {
      break;
    }
    CHAT_TRY(ExprPtr operand, parse_math1());
    e->args.push_back(std::move(operand));
  }
  if (e->ops.empty()) return std::move(e->args[0]);
  return done(std::move(e));
}

Expected<ExprPtr> Parser::parse_math1() {
  const SourcePos pos = pos_of(cur());
  CHAT_TRY(ExprPtr left, parse_concat());
  while (is(Tok::kAdd) || is(Tok::kSub)) {
    const Op op = advance().type == Tok::kAdd ? Op::kAdd : Op::kSub;
    CHAT_TRY(ExprPtr right, parse_concat());
    CHAT_TRY(left, binary(ExprKind::kBinary, pos, std::move(left), std::move(right), op));
  }
  return left;
}

Expected<ExprPtr> Parser::parse_concat() {
  const SourcePos pos = pos_of(cur());
  CHAT_TRY(ExprPtr first, parse_math2());
  if (!is(Tok::kTilde)) return first;
  auto e = node(ExprKind::kConcat, pos);
  e->args.push_back(std::move(first));
  while (skip(Tok::kTilde)) {
    CHAT_TRY(ExprPtr next, parse_math2());
    e->args.push_back(std::move(next));
  }
  return done(std::move(e));
}

Expected<ExprPtr> Parser::parse_math2() {
  const SourcePos pos = pos_of(cur());
  CHAT_TRY(ExprPtr left, parse_pow());
  while (is(Tok::kMul) || is(Tok::kDiv) || is(Tok::kFloorDiv) || is(Tok::kMod)) {
    const Tok t = advance().type;
    const Op op = t == Tok::kMul ? Op::kMul : t == Tok::kDiv ? Op::kDiv : t == Tok::kFloorDiv ? Op::kFloorDiv : Op::kMod;
    CHAT_TRY(ExprPtr right, parse_pow());
    CHAT_TRY(left, binary(ExprKind::kBinary, pos, std::move(left), std::move(right), op));
  }
  return left;
}

Expected<ExprPtr> Parser::parse_pow() {
  const SourcePos pos = pos_of(cur());
  CHAT_TRY(ExprPtr left, parse_unary(true));
  while (skip(Tok::kPow)) {
    CHAT_TRY(ExprPtr right, parse_unary(true));
    CHAT_TRY(left, binary(ExprKind::kBinary, pos, std::move(left), std::move(right), Op::kPow));
  }
  return left;
}

Expected<ExprPtr> Parser::parse_unary(bool with_filter) {
  Nest n(depth_);
  CHAT_CHECK(nested());
  ExprPtr e;
  if (is(Tok::kSub) || is(Tok::kAdd)) {
    const Token& t = advance();
    CHAT_TRY(ExprPtr inner, parse_unary(false));
    e = node(ExprKind::kUnary, pos_of(t));
    e->op = t.type == Tok::kSub ? Op::kNeg : Op::kPos;
    e->args.push_back(std::move(inner));
    CHAT_TRY(e, done(std::move(e)));
  } else {
    CHAT_TRY(e, parse_primary());
  }
  CHAT_TRY(e, parse_postfix(std::move(e)));
  if (with_filter) {
    CHAT_TRY(e, parse_filter_expr(std::move(e)));
  }
  return e;
}

Expected<ExprPtr> Parser::parse_primary() {
  const Token& t = cur();
  const SourcePos pos = pos_of(t);
  if (t.type == Tok::kName) {
    advance();
    auto e = node(ExprKind::kLiteral, pos);
    if (t.text == "true" || t.text == "True") {
      e->value = Value::boolean(true);
    } else if (t.text == "false" || t.text == "False") {
      e->value = Value::boolean(false);
    } else if (t.text == "none" || t.text == "None") {
      e->value = Value::none();
    } else {
      e->kind = ExprKind::kName;
      e->name = t.text;
    }
    return e;
  }
  if (t.type == Tok::kString) {
    std::string s;
    while (is(Tok::kString)) s += advance().text;  // adjacent literals concatenate
    auto e = node(ExprKind::kLiteral, pos);
    e->value = Value::string(std::move(s));
    return e;
  }
  if (t.type == Tok::kInt || t.type == Tok::kFloat) {
    advance();
    auto e = node(ExprKind::kLiteral, pos);
    e->value = t.type == Tok::kInt ? Value::integer(t.int_value) : Value::number(t.float_value);
    return e;
  }
  Nest n(depth_);
  CHAT_CHECK(nested());
  if (t.type == Tok::kLParen) {
    advance();
    CHAT_TRY(ExprPtr e, parse_tuple(false, true, {}, true));
    CHAT_CHECK(expect(Tok::kRParen, ")"));
    return e;
  }
  if (t.type == Tok::kLBracket || t.type == Tok::kLBrace) {
    const bool is_list = t.type == Tok::kLBracket;
    const Tok close = is_list ? Tok::kRBracket : Tok::kRBrace;
    advance();
    auto e = node(is_list ? ExprKind::kList : ExprKind::kDict, pos);
    while (!is(close)) {
      if (!e->args.empty()) CHAT_CHECK(expect(Tok::kComma, ","));
      if (is(close)) break;
      CHAT_TRY(ExprPtr item, parse_expression(true));
      e->args.push_back(std::move(item));
      if (!is_list) {
        CHAT_CHECK(expect(Tok::kColon, ":"));
        CHAT_TRY(ExprPtr value, parse_expression(true));
        e->args.push_back(std::move(value));
      }
    }
    advance();
    return done(std::move(e));
  }
  return fail(t, fmt::format("unexpected '{}'", describe(t)));
}

Expected<ExprPtr> Parser::parse_postfix(ExprPtr e) {
  while (true) {
    if (is(Tok::kDot) || is(Tok::kLBracket)) {
      CHAT_TRY(e, parse_subscript(std::move(e)));
    } else if (is(Tok::kLParen)) {
      CHAT_TRY(e, parse_call(std::move(e)));
    } else {
      return e;
    }
  }
}

Expected<ExprPtr> Parser::parse_filter_expr(ExprPtr e) {
  while (true) {
    if (is(Tok::kPipe)) {
      CHAT_TRY(e, parse_filter(std::move(e), false));
    } else if (is_name("is")) {
      CHAT_TRY(e, parse_test(std::move(e)));
    } else if (is(Tok::kLParen)) {
      CHAT_TRY(e, parse_call(std::move(e)));
    } else {
      return e;
    }
  }
}

Expected<ExprPtr> Parser::parse_subscript(ExprPtr obj) {
  const Token& t = advance();
  const SourcePos pos = pos_of(t);
  if (t.type == Tok::kDot) {
    const Token& attr = advance();
    if (attr.type == Tok::kName) {
      auto e = node(ExprKind::kGetAttr, pos);
      e->name = attr.text;
      e->args.push_back(std::move(obj));
      return done(std::move(e));
    }
    if (attr.type != Tok::kInt) return fail(attr, "expected name or number");
    auto key = node(ExprKind::kLiteral, pos_of(attr));
    key->value = Value::integer(attr.int_value);
    auto e = node(ExprKind::kGetItem, pos);
    e->args.push_back(std::move(obj));
    e->args.push_back(std::move(key));
    return done(std::move(e));
  }
  // '[' subscript (',' subscript)* ']'
  std::vector<Subscript> subs;
  while (!is(Tok::kRBracket)) {
    if (!subs.empty()) CHAT_CHECK(expect(Tok::kComma, ","));
    CHAT_TRY(Subscript sub, parse_subscribed());
    subs.push_back(std::move(sub));
  }
  advance();
  if (subs.empty()) return fail(t, "expected subscript expression");
  if (subs.size() == 1 && subs[0].is_slice) {
    auto e = node(ExprKind::kSlice, pos);
    e->args.push_back(std::move(obj));
    for (auto& bound : subs[0].bounds) e->args.push_back(std::move(bound));
    return done(std::move(e));
  }
  auto e = node(ExprKind::kGetItem, pos);
  e->args.push_back(std::move(obj));
  if (subs.size() == 1) {
    e->args.push_back(std::move(subs[0].bounds[0]));
    return done(std::move(e));
  }
  auto tuple = node(ExprKind::kTuple, pos);
  for (auto& sub : subs) {
    if (sub.is_slice) return fail(t, "slices inside tuple subscripts are not supported");
    tuple->args.push_back(std::move(sub.bounds[0]));
  }
  CHAT_TRY(tuple, done(std::move(tuple)));
  e->args.push_back(std::move(tuple));
  return done(std::move(e));
}

Expected<Parser::Subscript> Parser::parse_subscribed() {
  Subscript sub;
  if (!is(Tok::kColon)) {
    CHAT_TRY(sub.bounds[0], parse_expression(true));
    if (!is(Tok::kColon)) return sub;
  }
  advance();
  sub.is_slice = true;
  if (!is(Tok::kColon) && !is(Tok::kRBracket) && !is(Tok::kComma)) {
    CHAT_TRY(sub.bounds[1], parse_expression(true));
  }
  if (skip(Tok::kColon)) {
    if (!is(Tok::kRBracket) && !is(Tok::kComma)) {
      CHAT_TRY(sub.bounds[2], parse_expression(true));
    }
  }
  return sub;
}

Expected<void> Parser::parse_call_args(Expr& e) {
  const Token& open = advance();  // '('
  bool require_comma = false;
  while (!is(Tok::kRParen)) {
    if (require_comma) {
      CHAT_CHECK(expect(Tok::kComma, ","));
      if (is(Tok::kRParen)) break;
    }
    auto ensure = [&](bool ok) -> Expected<void> {
      if (!ok) return fail(open, "invalid syntax for function call expression");
      return {};
    };
    if (skip(Tok::kMul)) {
      CHAT_CHECK(ensure(!e.dyn_args && !e.dyn_kwargs));
      CHAT_TRY(e.dyn_args, parse_expression(true));
    } else if (skip(Tok::kPow)) {
      CHAT_CHECK(ensure(!e.dyn_kwargs));
      CHAT_TRY(e.dyn_kwargs, parse_expression(true));
    } else if (is(Tok::kName) && look().type == Tok::kAssign) {
      CHAT_CHECK(ensure(!e.dyn_kwargs));
      std::string key = advance().text;
      advance();
      CHAT_TRY(ExprPtr value, parse_expression(true));
      e.kwargs.emplace_back(std::move(key), std::move(value));
    } else {
      CHAT_CHECK(ensure(!e.dyn_args && !e.dyn_kwargs && e.kwargs.empty()));
      CHAT_TRY(ExprPtr value, parse_expression(true));
      e.args.push_back(std::move(value));
    }
    require_comma = true;
  }
  advance();
  return {};
}

Expected<ExprPtr> Parser::parse_call(ExprPtr callee) {
  auto e = node(ExprKind::kCall, pos_of(cur()));
  e->args.push_back(std::move(callee));
  CHAT_CHECK(parse_call_args(*e));
  return done(std::move(e));
}

Expected<std::string> Parser::dotted_name() {
  CHAT_TRY(const Token* t, expect(Tok::kName, "name"));
  std::string name = t->text;
  while (skip(Tok::kDot)) {
    CHAT_TRY(const Token* part, expect(Tok::kName, "name"));
    name += "." + part->text;
  }
  return name;
}

Expected<ExprPtr> Parser::parse_filter(ExprPtr value, bool start_inline) {
  while (is(Tok::kPipe) || start_inline) {
    if (!start_inline) advance();
    start_inline = false;
    auto e = node(ExprKind::kFilter, pos_of(cur()));
    CHAT_TRY(e->name, dotted_name());
    e->args.push_back(std::move(value));
    if (is(Tok::kLParen)) CHAT_CHECK(parse_call_args(*e));
    CHAT_TRY(value, done(std::move(e)));
  }
  return value;
}

Expected<ExprPtr> Parser::parse_test(ExprPtr value) {
  const Token& is_tok = advance();
  const bool negated = skip_name("not");
  auto e = node(ExprKind::kTest, pos_of(is_tok));
  CHAT_TRY(e->name, dotted_name());
  e->args.push_back(std::move(value));
  if (is(Tok::kLParen)) {
    CHAT_CHECK(parse_call_args(*e));
  } else if ((is(Tok::kName) || is(Tok::kString) || is(Tok::kInt) || is(Tok::kFloat) || is(Tok::kLParen) ||
              is(Tok::kLBracket) || is(Tok::kLBrace)) &&
             !is_name("else") && !is_name("or") && !is_name("and")) {
    if (is_name("is")) return fail(cur(), "you cannot chain multiple tests with is");
    CHAT_TRY(ExprPtr arg, parse_primary());
    CHAT_TRY(arg, parse_postfix(std::move(arg)));
    e->args.push_back(std::move(arg));
  }
  CHAT_TRY(ExprPtr test, done(std::move(e)));
  if (!negated) return test;
  auto n = node(ExprKind::kNot, test->pos);
  n->args.push_back(std::move(test));
  return done(std::move(n));
}
}  // namespace mx::chat::parser_detail
