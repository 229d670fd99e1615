// Parsing of tags: {% for %}, {% if %}, {% set %}, {% macro %}, {% call %}, ...
#include <algorithm>

#include <fmt/format.h>

#include "chat/parser_impl.h"
#include "chat/try.h"

namespace mx::chat {
namespace parser_detail {

Expected<Stmts> Parser::subparse(std::initializer_list<std::string_view> end_tags) {
  Stmts body;
  while (true) {
    const Token& t = cur();
    if (t.type == Tok::kEof) {
      if (end_tags.size() == 0) return body;
      std::string want;
      for (auto tag : end_tags) want += (want.empty() ? "'" : " or '") + std::string(tag) + "'";
      return fail(t, "unexpected end of template, expected " + want);
    }
    if (t.type == Tok::kData) {
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::kData;
      s->pos = pos_of(t);
      s->text = t.text;
      body.push_back(std::move(s));
      advance();
    } else if (t.type == Tok::kVarBegin) {
      advance();
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::kPrint;
      s->pos = pos_of(cur());
      CHAT_TRY(s->expr, parse_tuple(false, true, {}, false));
      CHAT_CHECK(expect(Tok::kVarEnd, "}}"));
      body.push_back(std::move(s));
    } else if (t.type == Tok::kBlockBegin) {
      advance();
      for (auto tag : end_tags) {
        if (is_name(tag)) return body;
      }
      CHAT_CHECK(statement(body));
      CHAT_CHECK(expect(Tok::kBlockEnd, "%}"));
    } else {
      return fail(t, fmt::format("unexpected '{}'", describe(t)));
    }
  }
}

// Parses a body after the tag's %} up to one of the end tags, leaving the end tag current.
Expected<Stmts> Parser::statements(std::initializer_list<std::string_view> end_tags) {
  skip(Tok::kColon);
  CHAT_CHECK(expect(Tok::kBlockEnd, "%}"));
  Nest n(depth_);
  CHAT_CHECK(nested());
  return subparse(end_tags);
}

// statements() followed by the end tag itself.
Expected<Stmts> Parser::block_body(std::string_view end_tag) {
  CHAT_TRY(Stmts body, statements({end_tag}));
  advance();
  return body;
}

Expected<void> Parser::statement(Stmts& out) {
  const Token& t = cur();
  if (t.type != Tok::kName) return fail(t, "tag name expected");
  const std::string tag = t.text;
  auto s = std::make_unique<Stmt>();
  s->pos = pos_of(t);
  if (tag == "for") return parse_for(out, std::move(s));
  if (tag == "if") return parse_if(out, std::move(s));
  if (tag == "set") return parse_set(out, std::move(s));
  if (tag == "macro") return parse_macro(out, std::move(s));
  if (tag == "call") return parse_call_block(out, std::move(s));
  if (tag == "filter") return parse_filter_block(out, std::move(s));
  if (tag == "with") return parse_with(out, std::move(s));
  if (tag == "generation") {
    advance();
    const int saved = loop_depth_;
    loop_depth_ = 0;  // the body is a function in Jinja: break cannot reach an outer loop
    CHAT_TRY(s->body, block_body("endgeneration"));
    loop_depth_ = saved;
    s->kind = StmtKind::kScope;
    out.push_back(std::move(s));
    return {};
  }
  if (tag == "print") {
    advance();
    while (!is(Tok::kBlockEnd)) {
      auto p = std::make_unique<Stmt>();
      p->kind = StmtKind::kPrint;
      p->pos = pos_of(cur());
      CHAT_TRY(p->expr, parse_expression(true));
      out.push_back(std::move(p));
      if (!skip(Tok::kComma)) break;
    }
    return {};
  }
  if (tag == "break" || tag == "continue") {
    if (loop_depth_ == 0) return fail(t, fmt::format("'{}' outside of a loop", tag));
    advance();
    s->kind = tag == "break" ? StmtKind::kBreak : StmtKind::kContinue;
    out.push_back(std::move(s));
    return {};
  }
  static constexpr std::string_view kUnsupported[] = {"block", "extends", "include", "import", "from", "autoescape"};
  if (std::find(std::begin(kUnsupported), std::end(kUnsupported), tag) != std::end(kUnsupported)) {
    return fail(t, fmt::format("the '{}' tag is not supported in chat templates", tag));
  }
  return fail(t, fmt::format("encountered unknown tag '{}'", tag));
}

Expected<void> Parser::parse_for(Stmts& out, StmtPtr s) {
  advance();
  s->kind = StmtKind::kFor;
  CHAT_TRY(ExprPtr target, parse_tuple(true, true, {"in"}, false));
  CHAT_TRY(s->target, to_target(*target));
  CHAT_CHECK(expect_name("in"));
  CHAT_TRY(s->expr, parse_tuple(false, false, {"recursive"}, false));
  if (skip_name("if")) {
    CHAT_TRY(s->cond, parse_expression(true));
  }
  if (is_name("recursive")) return fail(cur(), "recursive loops are not supported");
  ++loop_depth_;
  CHAT_TRY(s->body, statements({"endfor", "else"}));
  --loop_depth_;
  if (advance().text == "else") {
    CHAT_TRY(s->else_body, block_body("endfor"));
  }
  out.push_back(std::move(s));
  return {};
}

Expected<void> Parser::parse_if(Stmts& out, StmtPtr s) {
  advance();
  s->kind = StmtKind::kIf;
  while (true) {
    CHAT_TRY(ExprPtr test, parse_tuple(false, false, {}, false));
    CHAT_TRY(Stmts body, statements({"elif", "else", "endif"}));
    s->branches.emplace_back(std::move(test), std::move(body));
    const std::string tag = advance().text;
    if (tag == "elif") continue;
    if (tag == "else") {
      CHAT_TRY(s->else_body, block_body("endif"));
    }
    break;
  }
  out.push_back(std::move(s));
  return {};
}

Expected<void> Parser::parse_set(Stmts& out, StmtPtr s) {
  advance();
  if (is(Tok::kName) && look().type == Tok::kDot) {
    s->target.kind = Target::Kind::kNamespaceAttr;
    s->target.pos = pos_of(cur());
    s->target.name = advance().text;
    advance();
    CHAT_TRY(const Token* attr, expect(Tok::kName, "name"));
    s->target.attr = attr->text;
  } else {
    CHAT_TRY(ExprPtr target, parse_tuple(true, true, {}, false));
    CHAT_TRY(s->target, to_target(*target));
  }
  if (skip(Tok::kAssign)) {
    s->kind = StmtKind::kSet;
    CHAT_TRY(s->expr, parse_tuple(false, true, {}, false));
  } else {
    s->kind = StmtKind::kSetBlock;
    if (is(Tok::kPipe)) {
      CHAT_TRY(s->expr, parse_filter(nullptr, false));
    }
    CHAT_TRY(s->body, block_body("endset"));
  }
  out.push_back(std::move(s));
  return {};
}

Expected<void> Parser::parse_signature(Stmt& s) {
  CHAT_CHECK(expect(Tok::kLParen, "("));
  while (!is(Tok::kRParen)) {
    if (!s.params.empty()) CHAT_CHECK(expect(Tok::kComma, ","));
    CHAT_TRY(const Token* name, expect(Tok::kName, "name"));
    if (std::find(s.params.begin(), s.params.end(), name->text) != s.params.end()) {
      return fail(*name, fmt::format("duplicate argument '{}'", name->text));
    }
    s.params.push_back(name->text);
    if (name->text == "caller" && !is(Tok::kAssign)) {
      return fail(*name, "the special 'caller' argument must be omitted or be given a default");
    }
    if (skip(Tok::kAssign)) {
      CHAT_TRY(ExprPtr def, parse_expression(true));
      s.defaults.push_back(std::move(def));
    } else {
      if (std::any_of(s.defaults.begin(), s.defaults.end(), [](const ExprPtr& d) { return d != nullptr; })) {
        return fail(*name, "non-default argument follows default argument");
      }
      s.defaults.push_back(nullptr);
    }
  }
  advance();
  return {};
}

// Macro and call-block bodies are functions in Jinja: loops outside do not reach in.
Expected<Stmts> Parser::function_body(std::string_view end_tag) {
  const int saved = loop_depth_;
  loop_depth_ = 0;
  auto body = block_body(end_tag);
  loop_depth_ = saved;
  return body;
}

Expected<void> Parser::parse_macro(Stmts& out, StmtPtr s) {
  advance();
  s->kind = StmtKind::kMacro;
  CHAT_TRY(const Token* name, expect(Tok::kName, "macro name"));
  s->name = name->text;
  CHAT_CHECK(parse_signature(*s));
  CHAT_TRY(s->body, function_body("endmacro"));
  out.push_back(std::move(s));
  return {};
}

Expected<void> Parser::parse_call_block(Stmts& out, StmtPtr s) {
  advance();
  s->kind = StmtKind::kCallBlock;
  s->name = "caller";
  if (is(Tok::kLParen)) CHAT_CHECK(parse_signature(*s));
  const Token& at = cur();
  CHAT_TRY(s->expr, parse_expression(true));
  if (s->expr->kind != ExprKind::kCall) return fail(at, "expected call");
  CHAT_TRY(s->body, function_body("endcall"));
  out.push_back(std::move(s));
  return {};
}

Expected<void> Parser::parse_filter_block(Stmts& out, StmtPtr s) {
  advance();
  s->kind = StmtKind::kFilterBlock;
  CHAT_TRY(s->expr, parse_filter(nullptr, true));
  CHAT_TRY(s->body, block_body("endfilter"));
  out.push_back(std::move(s));
  return {};
}

Expected<void> Parser::parse_with(Stmts& out, StmtPtr s) {
  advance();
  s->kind = StmtKind::kScope;
  while (!is(Tok::kBlockEnd)) {
    if (!s->withs.empty()) CHAT_CHECK(expect(Tok::kComma, ","));
    CHAT_TRY(ExprPtr target, parse_tuple(true, true, {}, false));
    CHAT_TRY(Target t, to_target(*target));
    CHAT_CHECK(expect(Tok::kAssign, "="));
    CHAT_TRY(ExprPtr value, parse_expression(true));
    s->withs.emplace_back(std::move(t), std::move(value));
  }
  CHAT_TRY(s->body, block_body("endwith"));
  out.push_back(std::move(s));
  return {};
}

Expected<Target> Parser::to_target(const Expr& e) {
  Target t;
  t.pos = e.pos;
  if (e.kind == ExprKind::kName) {
    t.kind = Target::Kind::kName;
    t.name = e.name;
    return t;
  }
  if (e.kind == ExprKind::kTuple) {
    t.kind = Target::Kind::kTuple;
    for (const auto& item : e.args) {
      CHAT_TRY(Target sub, to_target(*item));
      t.items.push_back(std::move(sub));
    }
    return t;
  }
  return make_error("template:{}:{}: syntax error: can't assign to this expression", e.pos.line, e.pos.col);
}
}  // namespace parser_detail

Expected<std::vector<StmtPtr>> parse_template(std::string_view source, const LexerOptions& options) {
  CHAT_TRY(std::vector<Token> tokens, tokenize(source, options));
  CHAT_TRY(parser_detail::Stmts body, parser_detail::Parser(std::move(tokens)).parse());
  CHAT_CHECK(parser_detail::check_template(body));
  return body;
}

}  // namespace mx::chat
