// Splits template source into tokens the way Jinja2's lexer does: text, `{{ }}`, `{% %}`,
// `{# #}`, `{% raw %}`, the `-`/`+` whitespace controls, and the environment's trim_blocks
// (drop the newline after a block or comment tag) and lstrip_blocks (drop the spaces and
// tabs before a block or comment tag that starts a line).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"

namespace mx::chat {

enum class Tok : uint8_t {
  kData, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd,
  kName, kString, kInt, kFloat,
  kAdd, kSub, kDiv, kFloorDiv, kMul, kMod, kPow, kTilde,
  kLBracket, kRBracket, kLParen, kRParen, kLBrace, kRBrace,
  kEq, kNe, kGt, kGe, kLt, kLe, kAssign, kDot, kColon, kPipe, kComma, kSemicolon,
  kEof,
};

struct Token {
  Tok type = Tok::kEof;
  std::string text;  // kData text, kName, kString (decoded), operator spelling
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
  int col = 1;  // in code points, 1-based
};

struct LexerOptions {
  bool trim_blocks = true;    // transformers' setting
  bool lstrip_blocks = true;  // transformers' setting
};

// How the parser and error messages name a token.
std::string describe(const Token& t);

// Errors carry "line:col: message".
Expected<std::vector<Token>> tokenize(std::string_view source, const LexerOptions& options = {});

}  // namespace mx::chat
