// Builds the syntax tree from tokens, following Jinja2's parser: the same precedence
// (condexpr < or < and < not < compare < +,- < ~ < *,/,//,% < ** < unary < filters/tests <
// postfix), the same statements, and the same compile-time checks (an unknown filter or
// test is an error unless it sits inside an `if`, where Jinja defers it to run time).
#pragma once

#include <string_view>
#include <vector>

#include "chat/ast.h"
#include "chat/lexer.h"
#include "core/expected.h"

namespace mx::chat {

// Deepest nesting of statements and of expressions the parser accepts. Real templates
// stay far below; the bound keeps parsing and evaluation off the end of the stack.
inline constexpr int kMaxNesting = 100;
inline constexpr int kMaxExprHeight = 200;

Expected<std::vector<StmtPtr>> parse_template(std::string_view source, const LexerOptions& options = {});

}  // namespace mx::chat
