#include "chat/lexer.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "chat/ustr.h"

namespace mx::chat {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

struct OpSpelling {
  std::string_view text;
  Tok type;
};

// Longest first, as Jinja sorts its operator regex.
constexpr OpSpelling kOperators[] = {
    {"//", Tok::kFloorDiv}, {"**", Tok::kPow}, {"==", Tok::kEq}, {"!=", Tok::kNe},
    {">=", Tok::kGe},       {"<=", Tok::kLe},  {"+", Tok::kAdd}, {"-", Tok::kSub},
    {"/", Tok::kDiv},       {"*", Tok::kMul},  {"%", Tok::kMod}, {"~", Tok::kTilde},
    {"[", Tok::kLBracket},  {"]", Tok::kRBracket}, {"(", Tok::kLParen}, {")", Tok::kRParen},
    {"{", Tok::kLBrace},    {"}", Tok::kRBrace}, {">", Tok::kGt}, {"<", Tok::kLt},
    {"=", Tok::kAssign},    {".", Tok::kDot},  {":", Tok::kColon}, {"|", Tok::kPipe},
    {",", Tok::kComma},     {";", Tok::kSemicolon},
};

// Newlines normalised to \n and one trailing newline dropped (keep_trailing_newline=False).
std::string normalize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  Lexer(std::string source, const LexerOptions& o) : src_(std::move(source)), o_(o) {}

  Expected<std::vector<Token>> run() {
    while (pos_ < src_.size()) {
      if (auto r = root(); !r) return r.error();
    }
    emit(Tok::kEof, "", src_.size());
    return std::move(tokens_);
  }

 private:
  // Position of a byte offset as line and column (code points), both 1-based.
  std::pair<int, int> where(size_t offset) {
    while (scan_ < offset && scan_ < src_.size()) {
      if (src_[scan_] == '\n') {
        ++line_;
        col_ = 1;
      } else if ((static_cast<unsigned char>(src_[scan_]) & 0xC0) != 0x80) {
        ++col_;
      }
      ++scan_;
    }
    return {line_, col_};
  }

  Token& emit(Tok type, std::string text, size_t offset) {
    Token t;
    t.type = type;
    t.text = std::move(text);
    std::tie(t.line, t.col) = where(offset);
    tokens_.push_back(std::move(t));
    return tokens_.back();
  }

  Error fail(size_t offset, std::string_view msg) {
    auto [line, col] = where(offset);
    return make_error("template:{}:{}: syntax error: {}", line, col, msg);
  }

  bool at(size_t p, std::string_view s) const { return src_.compare(p, s.size(), s) == 0; }

  size_t skip_space(size_t p) const {
    while (p < src_.size()) {
      size_t q = p;
      const char32_t c = ustr::next(src_, q);
      if (!ustr::is_space(c)) break;
      p = q;
    }
    return p;
  }

  // Matches `{%(-|+|)\s*raw\s*(-%}\s*|%})` at p; returns the end or npos.
  size_t match_raw_begin(size_t p, char& sign) const {
    size_t q = p + 2;
    sign = 0;
    if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) sign = src_[q++];
    q = skip_space(q);
    if (!at(q, "raw")) return std::string::npos;
    q = skip_space(q + 3);
    if (at(q, "-%}")) return skip_space(q + 3);
    if (at(q, "%}")) return q + 2;
    return std::string::npos;
  }

  // Applies `{%-` (strip all whitespace before) or lstrip_blocks to the text before a tag.
  std::string_view strip_before(std::string_view text, char sign, bool lstrip_applies) const {
    if (sign == '-') {
      const std::string s = ustr::strip(text, std::nullopt, false, true);
      return text.substr(0, s.size());
    }
    if (sign != '+' && lstrip_applies && o_.lstrip_blocks) {
      const size_t nl = text.rfind('\n');
      const size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
      if (l_pos > 0 || line_starting_) {
        std::string_view tail = text.substr(l_pos);
        if (!tail.empty() && ustr::strip(tail, std::nullopt, true, true).empty()) return text.substr(0, l_pos);
      }
    }
    return text;
  }

  // After a closing `%}` or `#}`: `-` eats all whitespace, `+` nothing, otherwise trim_blocks
  // eats one newline. Returns the position after what was eaten.
  size_t after_block_end(size_t end, char sign) {
    size_t p = end;
    if (sign == '-') {
      p = skip_space(end);
    } else if (sign != '+' && o_.trim_blocks && p < src_.size() && src_[p] == '\n') {
      ++p;
    }
    line_starting_ = p > end && src_[p - 1] == '\n';
    return p;
  }

  Expected<void> root() {
    size_t i = pos_;
    while (true) {
      i = src_.find('{', i);
      if (i == std::string::npos || i + 1 >= src_.size()) {
        emit(Tok::kData, src_.substr(pos_), pos_);
        pos_ = src_.size();
        return {};
      }
      const char c = src_[i + 1];
      if (c == '{' || c == '%' || c == '#') break;
      ++i;
    }
    const char kind = src_[i + 1];
    char sign = 0;
    size_t raw_end = std::string::npos;
    if (kind == '%') raw_end = match_raw_begin(i, sign);
    if (raw_end == std::string::npos) {
      sign = (i + 2 < src_.size() && (src_[i + 2] == '-' || src_[i + 2] == '+')) ? src_[i + 2] : 0;
    }
    const std::string_view text = strip_before(std::string_view(src_).substr(pos_, i - pos_), sign, kind != '{');
    if (!text.empty()) emit(Tok::kData, std::string(text), pos_);
    line_starting_ = false;

    if (raw_end != std::string::npos) {
      line_starting_ = src_[raw_end - 1] == '\n';
      return raw(raw_end);
    }
    const size_t body = i + 2 + (sign ? 1 : 0);
    if (kind == '#') return comment(i, body);
    return tag(i, body, kind == '%');
  }

  Expected<void> comment(size_t start, size_t p) {
    for (size_t q = src_.find("#}", p); q != std::string::npos; q = src_.find("#}", q + 1)) {
      // The earliest match wins, and "-#}" / "+#}" start one character before "#}".
      char sign = 0;
      if (q > p && (src_[q - 1] == '-' || src_[q - 1] == '+')) sign = src_[q - 1];
      pos_ = after_block_end(q + 2, sign);
      return {};
    }
    return fail(start, "missing end of comment tag");
  }

  Expected<void> raw(size_t p) {
    for (size_t q = src_.find("{%", p); q != std::string::npos; q = src_.find("{%", q + 1)) {
      size_t r = q + 2;
      char sign = 0;
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) sign = src_[r++];
      r = skip_space(r);
      if (!at(r, "endraw")) continue;
      r = skip_space(r + 6);
      char end_sign = 0;
      if (at(r, "-%}") || at(r, "+%}")) {
        end_sign = src_[r];
        r += 3;
      } else if (at(r, "%}")) {
        r += 2;
      } else {
        continue;
      }
      const std::string_view text = strip_before(std::string_view(src_).substr(p, q - p), sign, true);
      if (!text.empty()) emit(Tok::kData, std::string(text), p);
      pos_ = after_block_end(r, end_sign);
      return {};
    }
    return fail(p, "missing end of raw directive");
  }

  Expected<void> tag(size_t start, size_t p, bool block) {
    emit(block ? Tok::kBlockBegin : Tok::kVarBegin, "", start);
    std::vector<char> balance;
    while (true) {
      if (p >= src_.size()) {
        return fail(start, block ? "unexpected end of template, expected '%}'" : "unexpected end of template, expected '}}'");
      }
      if (balance.empty()) {
        if (block) {
          if (at(p, "-%}") || at(p, "+%}")) {
            emit(Tok::kBlockEnd, "", p);
            pos_ = after_block_end(p + 3, src_[p]);
            return {};
          }
          if (at(p, "%}")) {
            emit(Tok::kBlockEnd, "", p);
            pos_ = after_block_end(p + 2, 0);
            return {};
          }
        } else {
          if (at(p, "-}}")) {
            emit(Tok::kVarEnd, "", p);
            pos_ = skip_space(p + 3);
            line_starting_ = pos_ > p + 3 && src_[pos_ - 1] == '\n';
            return {};
          }
          if (at(p, "}}")) {
            emit(Tok::kVarEnd, "", p);
            pos_ = p + 2;
            line_starting_ = false;
            return {};
          }
        }
      }
      const size_t q = skip_space(p);
      if (q != p) {
        p = q;
        continue;
      }
      auto next = token(p, balance);
      if (!next) return next.error();
      p = *next;
    }
  }

  // One token inside a tag; returns the position after it.
  Expected<size_t> token(size_t p, std::vector<char>& balance) {
    const char c = src_[p];
    if (is_digit(c)) return number(p);
    if (c == '\'' || c == '"') {
      auto end = string_literal(p);
      if (!end) return end;
      if (*end != std::string::npos) return end;
    }
    if (size_t e = name_end(p); e != p) {
      emit(Tok::kName, src_.substr(p, e - p), p);
      return e;
    }
    for (const auto& op : kOperators) {
      if (!at(p, op.text)) continue;
      if (op.type == Tok::kLParen) balance.push_back(')');
      if (op.type == Tok::kLBracket) balance.push_back(']');
      if (op.type == Tok::kLBrace) balance.push_back('}');
      if (op.type == Tok::kRParen || op.type == Tok::kRBracket || op.type == Tok::kRBrace) {
        if (balance.empty()) return fail(p, fmt::format("unexpected '{}'", op.text));
        if (balance.back() != op.text[0]) {
          return fail(p, fmt::format("unexpected '{}', expected '{}'", op.text, balance.back()));
        }
        balance.pop_back();
      }
      emit(op.type, std::string(op.text), p);
      return p + op.text.size();
    }
    size_t q = p;
    std::string ch;
    ustr::append(ch, ustr::next(src_, q));
    return fail(p, fmt::format("unexpected char '{}'", ch));
  }

  size_t name_end(size_t p) const {
    size_t e = p;
    while (e < src_.size()) {
      size_t q = e;
      const char32_t c = ustr::next(src_, q);
      if (!ustr::is_word(c)) break;
      e = q;
    }
    return e;
  }

  size_t digits(size_t p, bool (*ok)(char)) const {
    // (\d+_)*\d+ style runs: digits with single underscores between them.
    size_t e = p;
    while (e < src_.size() && ok(src_[e])) {
      ++e;
      if (e + 1 < src_.size() && src_[e] == '_' && ok(src_[e + 1])) ++e;
    }
    return e;
  }

  Expected<size_t> number(size_t p) {
    auto dec = [](char c) { return c >= '0' && c <= '9'; };
    // Floats first (Jinja tries its float rule before the integer rule), not after a '.'.
    if (p == 0 || src_[p - 1] != '.') {
      size_t e = digits(p, dec);
      size_t f = e;
      bool is_float = false;
      if (f + 1 < src_.size() && src_[f] == '.' && dec(src_[f + 1])) {
        f = digits(f + 1, dec);
        is_float = true;
      }
      if (f < src_.size() && (src_[f] == 'e' || src_[f] == 'E')) {
        size_t g = f + 1;
        if (g < src_.size() && (src_[g] == '+' || src_[g] == '-')) ++g;
        if (g < src_.size() && dec(src_[g])) {
          f = digits(g, dec);
          is_float = true;
        }
      }
      if (is_float) {
        std::string clean;
        for (size_t k = p; k < f; ++k) {
          if (src_[k] != '_') clean += src_[k];
        }
        double d = 0;
        auto res = std::from_chars(clean.data(), clean.data() + clean.size(), d);
        if (res.ec == std::errc::result_out_of_range) {
          const bool tiny = clean.find("e-") != std::string::npos || clean.find("E-") != std::string::npos;
          d = tiny ? 0.0 : std::numeric_limits<double>::infinity();
        }
        emit(Tok::kFloat, src_.substr(p, f - p), p).float_value = d;
        return f;
      }
    }
    int base = 10;
    size_t start = p, e = p;
    const char x = p + 1 < src_.size() ? static_cast<char>(src_[p + 1] | 0x20) : 0;
    auto bin = [](char c) { return c == '0' || c == '1'; };
    auto oct = [](char c) { return c >= '0' && c <= '7'; };
    auto hex = [](char c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); };
    auto prefixed = [&](bool (*ok)(char)) {
      // 0x(_?[\da-f])+ : an underscore may also follow the prefix.
      size_t q = p + 2;
      if (q < src_.size() && src_[q] == '_' && q + 1 < src_.size() && ok(src_[q + 1])) ++q;
      return q < src_.size() && ok(src_[q]) ? digits(q, ok) : std::string::npos;
    };
    if (src_[p] == '0' && (x == 'b' || x == 'o' || x == 'x')) {
      base = x == 'b' ? 2 : x == 'o' ? 8 : 16;
      e = prefixed(base == 2 ? +bin : base == 8 ? +oct : +hex);
      if (e != std::string::npos) start = p + 2;
    }
    if (base == 10 || e == std::string::npos) {
      base = 10;
      start = p;
      if (src_[p] == '0') {
        e = digits(p, [](char c) { return c == '0'; });
      } else {
        e = digits(p, dec);
      }
    }
    std::string clean;
    for (size_t k = start; k < e; ++k) {
      if (src_[k] != '_') clean += src_[k];
    }
    int64_t v = 0;
    auto res = std::from_chars(clean.data(), clean.data() + clean.size(), v, base);
    if (res.ec != std::errc()) return fail(p, "integer literal does not fit in 64 bits");
    emit(Tok::kInt, src_.substr(p, e - p), p).int_value = v;
    return e;
  }

  // Returns the end of the literal, or npos when there is no closing quote (the quote is
  // then an unexpected character, as in Jinja).
  Expected<size_t> string_literal(size_t p) {
    const char quote = src_[p];
    size_t e = p + 1;
    while (e < src_.size() && src_[e] != quote) {
      if (src_[e] == '\\') ++e;
      if (e < src_.size()) ++e;
    }
    if (e >= src_.size()) return std::string::npos;
    auto decoded = unescape(std::string_view(src_).substr(p + 1, e - p - 1), p);
    if (!decoded) return decoded.error();
    emit(Tok::kString, std::move(*decoded), p);
    return e + 1;
  }

  // Python's "unicode-escape" decoding, as Jinja applies it to string literals.
  Expected<std::string> unescape(std::string_view s, size_t at_offset) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
      if (s[i] != '\\') {
        const size_t from = i;
        ustr::next(s, i);
        out += s.substr(from, i - from);
        continue;
      }
      if (i + 1 >= s.size()) return fail(at_offset, "\\ at end of string");
      const char c = s[i + 1];
      i += 2;
      auto hex_escape = [&](size_t n) -> Expected<char32_t> {
        if (i + n > s.size()) return fail(at_offset, fmt::format("truncated \\{}... escape", c));
        uint32_t v = 0;
        for (size_t k = 0; k < n; ++k) {
          const char h = s[i + k];
          const int d = h >= '0' && h <= '9' ? h - '0' : (h | 0x20) >= 'a' && (h | 0x20) <= 'f' ? (h | 0x20) - 'a' + 10 : -1;
          if (d < 0) return fail(at_offset, fmt::format("truncated \\{}... escape", c));
          v = v * 16 + static_cast<uint32_t>(d);
        }
        i += n;
        if (v > 0x10FFFF) return fail(at_offset, "illegal Unicode character");
        if (v >= 0xD800 && v <= 0xDFFF) return fail(at_offset, "surrogate code point in string literal");
        return static_cast<char32_t>(v);
      };
      switch (c) {
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case '\n': break;  // line continuation
        case 'x':
        case 'u':
        case 'U': {
          auto cp = hex_escape(c == 'x' ? 2 : c == 'u' ? 4 : 8);
          if (!cp) return cp.error();
          ustr::append(out, *cp);
          break;
        }
        case 'N': return fail(at_offset, "named Unicode escapes (\\N{...}) are not supported");
        default:
          if (c >= '0' && c <= '7') {
            uint32_t v = static_cast<uint32_t>(c - '0');
            for (int k = 0; k < 2 && i < s.size() && s[i] >= '0' && s[i] <= '7'; ++k) v = v * 8 + static_cast<uint32_t>(s[i++] - '0');
            ustr::append(out, v);
          } else if (static_cast<unsigned char>(c) >= 0x80) {
            // Jinja backslash-escapes non-ASCII text before decoding, so "\é" comes out
            // as the four characters \xe9.
            size_t k = i - 1;
            const char32_t cp = ustr::next(s, k);
            i = k;
            out += cp <= 0xFF ? fmt::format("\\x{:02x}", static_cast<unsigned>(cp))
                   : cp <= 0xFFFF ? fmt::format("\\u{:04x}", static_cast<unsigned>(cp))
                                  : fmt::format("\\U{:08x}", static_cast<unsigned>(cp));
          } else {
            out += '\\';
            out += c;
          }
      }
    }
    return out;
  }

  std::string src_;
  LexerOptions o_;
  size_t pos_ = 0;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
  size_t scan_ = 0;
  int line_ = 1;
  int col_ = 1;
};

}  // namespace

std::string describe(const Token& t) {
  switch (t.type) {
    case Tok::kData: return "template data / text";
    case Tok::kVarBegin: return "begin of print statement";
    case Tok::kVarEnd: return "end of print statement";
    case Tok::kBlockBegin: return "begin of statement block";
    case Tok::kBlockEnd: return "end of statement block";
    case Tok::kEof: return "end of template";
    case Tok::kString: return "string";
    case Tok::kInt: return "integer";
    case Tok::kFloat: return "float";
    default: return t.text;
  }
}

Expected<std::vector<Token>> tokenize(std::string_view source, const LexerOptions& options) {
  if (!ustr::is_valid_utf8(source)) return make_error("template:1:1: syntax error: the template is not valid UTF-8");
  return Lexer(normalize(source), options).run();
}

}  // namespace mx::chat
