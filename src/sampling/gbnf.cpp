#include "sampling/gbnf.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <optional>

#include "core/utf8.h"

namespace mx {

bool GrammarElement::matches(uint32_t cp) const {
  bool in = false;
  for (const auto& [lo, hi] : ranges)
    if (cp >= lo && cp <= hi) {
      in = true;
      break;
    }
  return in != negated;
}

bool GrammarElement::matches_any(uint32_t lo, uint32_t hi) const {
  if (!negated) {
    for (const auto& [a, b] : ranges)
      if (a <= hi && b >= lo) return true;
    return false;
  }
  // Negated: some code point of [lo, hi] lies outside every range. Walk up from lo past the
  // ranges that cover it.
  uint32_t cp = lo;
  for (bool moved = true; moved && cp <= hi;) {
    moved = false;
    for (const auto& [a, b] : ranges)
      if (cp >= a && cp <= b) {
        if (b >= hi) return false;
        cp = b + 1;
        moved = true;
      }
  }
  return cp <= hi;
}

namespace {

using Kind = GrammarElement::Kind;

GrammarElement chars(uint32_t lo, uint32_t hi) { return {Kind::kChars, 0, false, {{lo, hi}}}; }
GrammarElement ref(uint32_t rule) { return {Kind::kRule, rule, false, {}}; }
GrammarElement end() { return {}; }

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Expected<Grammar> parse() {
    skip(true);
    while (pos_ < s_.size()) {
      const std::string name = parse_name();
      if (name.empty()) return fail("expected a rule name");
      skip(false);
      if (s_.substr(pos_, 3) != "::=") return fail("expected '::='");
      pos_ += 3;
      skip(true);
      const uint32_t id = rule_id(name);
      if (defined_[id]) return fail("rule '" + name + "' is defined twice");
      defined_[id] = true;
      GrammarRule body;
      if (!parse_alternatives(body, false)) return *error_;
      g_.rules[id] = std::move(body);
      skip(false);
      if (pos_ < s_.size() && s_[pos_] != '\n' && s_[pos_] != '\r') return fail("expected the end of the line");
      skip(true);
    }
    for (size_t i = 0; i < g_.rules.size(); ++i)
      if (!defined_[i]) return make_error("rule '{}' is used but not defined", g_.names[i]);
    const auto root = index_.find("root");
    if (root == index_.end()) return make_error("the grammar has no 'root' rule");
    g_.root = root->second;
    if (auto st = check_left_recursion(); !st) return st.error();
    return std::move(g_);
  }

 private:
  // Spaces, tabs and comments; newlines too when `newlines`.
  void skip(bool newlines) {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string parse_name() {
    const size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '-' || s_[pos_] == '_'))
      ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  uint32_t rule_id(const std::string& name) {
    const auto it = index_.find(name);
    if (it != index_.end()) return it->second;
    const auto id = static_cast<uint32_t>(g_.rules.size());
    index_[name] = id;
    g_.rules.emplace_back();
    g_.names.push_back(name);
    defined_.push_back(false);
    return id;
  }

  uint32_t helper_rule(GrammarRule body) {
    const auto id = static_cast<uint32_t>(g_.rules.size());
    g_.rules.push_back(std::move(body));
    g_.names.push_back("_" + std::to_string(id));
    defined_.push_back(true);
    return id;
  }

  Error fail(std::string message) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    error_ = make_error("{}:{}: {}", line, col, message);
    return *error_;
  }

  bool parse_alternatives(GrammarRule& out, bool nested) {
    for (;;) {
      GrammarAlternative alt;
      if (!parse_sequence(alt, nested)) return false;
      alt.push_back(end());
      out.push_back(std::move(alt));
      if (pos_ < s_.size() && s_[pos_] == '|') {
        ++pos_;
        skip(true);
        continue;
      }
      return true;
    }
  }

  // One code point of a literal or class, with escapes.
  std::optional<uint32_t> parse_char() {
    if (pos_ >= s_.size()) return std::nullopt;
    if (s_[pos_] == '\\') {
      if (pos_ + 1 >= s_.size()) return std::nullopt;
      const char e = s_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case 'n': return '\n';
        case 't': return '\t';
        case 'r': return '\r';
        case '\\': case '"': case '[': case ']': case '-': case '^': case '/': return static_cast<uint32_t>(e);
        case 'x': return parse_hex(2);
        case 'u': return parse_hex(4);
        case 'U': return parse_hex(8);
        default: fail(std::string("unknown escape \\") + e); return std::nullopt;
      }
    }
    const auto scan = utf8::scan(s_.substr(pos_));
    if (scan.status != utf8::Status::kComplete) {
      fail("invalid UTF-8");
      return std::nullopt;
    }
    uint32_t cp = static_cast<unsigned char>(s_[pos_]);
    if (scan.length > 1) {
      cp &= 0xff >> (scan.length + 1);
      for (size_t i = 1; i < scan.length; ++i) cp = (cp << 6) | (static_cast<unsigned char>(s_[pos_ + i]) & 0x3f);
    }
    pos_ += scan.length;
    return cp;
  }

  std::optional<uint32_t> parse_hex(int digits) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i, ++pos_) {
      if (pos_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[pos_]))) {
        fail("expected a hex digit");
        return std::nullopt;
      }
      const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s_[pos_])));
      v = v * 16 + static_cast<uint32_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v;
  }

  bool parse_sequence(GrammarAlternative& out, bool nested) {
    size_t last_start = out.size();  // where the last item's elements begin
    for (;;) {
      if (pos_ >= s_.size()) return true;
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        last_start = out.size();
        while (pos_ < s_.size() && s_[pos_] != '"') {
          const auto cp = parse_char();
          if (!cp) {
            if (!error_) fail("unterminated string");
            return false;
          }
          out.push_back(chars(*cp, *cp));
        }
        if (pos_ >= s_.size()) { fail("unterminated string"); return false; }
        ++pos_;
      } else if (c == '[') {
        ++pos_;
        GrammarElement e{Kind::kChars, 0, false, {}};
        if (pos_ < s_.size() && s_[pos_] == '^') {
          e.negated = true;
          ++pos_;
        }
        while (pos_ < s_.size() && s_[pos_] != ']') {
          const auto lo = parse_char();
          if (!lo) {
            if (!error_) fail("unterminated character class");
            return false;
          }
          uint32_t hi = *lo;
          if (pos_ + 1 < s_.size() && s_[pos_] == '-' && s_[pos_ + 1] != ']') {
            ++pos_;
            const auto h = parse_char();
            if (!h) {
              if (!error_) fail("unterminated character class");
              return false;
            }
            hi = *h;
            if (hi < *lo) { fail("range end before its start"); return false; }
          }
          e.ranges.emplace_back(*lo, hi);
        }
        if (pos_ >= s_.size()) { fail("unterminated character class"); return false; }
        ++pos_;
        last_start = out.size();
        out.push_back(std::move(e));
      } else if (c == '.') {
        ++pos_;
        last_start = out.size();
        out.push_back({Kind::kChars, 0, true, {}});  // negated empty class: any character
      } else if (c == '(') {
        if (++depth_ > kMaxNesting) {
          fail("groups nested too deeply");
          return false;
        }
        ++pos_;
        skip(true);
        GrammarRule body;
        if (!parse_alternatives(body, true)) return false;
        if (pos_ >= s_.size() || s_[pos_] != ')') { fail("expected ')'"); return false; }
        ++pos_;
        --depth_;
        last_start = out.size();
        out.push_back(ref(helper_rule(std::move(body))));
      } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
        const size_t save = pos_;
        const std::string name = parse_name();
        // A name followed by ::= starts the next rule (on a new line at top level).
        size_t look = pos_;
        while (look < s_.size() && (s_[look] == ' ' || s_[look] == '\t')) ++look;
        if (s_.substr(look, 3) == "::=") {
          pos_ = save;
          return true;
        }
        last_start = out.size();
        out.push_back(ref(rule_id(name)));
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (last_start >= out.size()) {
          fail(std::string("'") + c + "' without anything to repeat");
          return false;
        }
        // A repetition after a literal applies to the whole literal.
        if (out.size() - last_start > 1) group_tail(out, last_start);
        if (!parse_repetition(out, last_start)) return false;
        last_start = out.size();  // "a"** is an error, not a repetition of a repetition
      } else {
        return true;  // '|', ')', a newline or something the caller checks
      }
      skip(nested);
    }
  }

  // Makes the elements from `start` on one helper rule reference.
  void group_tail(GrammarAlternative& out, size_t start) {
    GrammarAlternative inner(out.begin() + static_cast<ptrdiff_t>(start), out.end());
    inner.push_back(end());
    out.resize(start);
    out.push_back(ref(helper_rule({std::move(inner)})));
  }

  bool parse_repetition(GrammarAlternative& out, size_t start) {
    int min = 0, max = -1;  // -1: unbounded
    const char c = s_[pos_++];
    if (c == '*') {
      min = 0;
    } else if (c == '+') {
      min = 1;
    } else if (c == '?') {
      max = 1;
    } else {  // {m}, {m,}, {m,n}
      skip(false);
      auto number = [&]() -> std::optional<int> {
        const size_t b = pos_;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
        if (pos_ == b || pos_ - b > 6) return std::nullopt;
        return std::stoi(std::string(s_.substr(b, pos_ - b)));
      };
      const auto m = number();
      if (!m) { fail("expected a number"); return false; }
      min = max = *m;
      skip(false);
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        skip(false);
        max = -1;
        if (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
          const auto n = number();
          if (!n) { fail("expected a number"); return false; }
          max = *n;
        }
        skip(false);
      }
      if (pos_ >= s_.size() || s_[pos_] != '}') { fail("expected '}'"); return false; }
      ++pos_;
      if (max >= 0 && max < min) { fail("repetition maximum below its minimum"); return false; }
      if (std::max(min, max) > 10000) { fail("repetition count too large (at most 10000)"); return false; }
    }
    const GrammarElement item = out[start];  // a single element (literals were grouped)
    out.resize(start);
    for (int i = 0; i < min; ++i) out.push_back(item);
    if (max < 0) {  // R ::= item R | (empty)
      const uint32_t r = helper_rule({});
      g_.rules[r] = {{item, ref(r), end()}, {end()}};
      out.push_back(ref(r));
    } else if (max > min) {  // nested optionals: R_k ::= item R_{k+1} | (empty)
      uint32_t next = helper_rule({{item, end()}, {end()}});
      for (int k = max - min - 1; k > 0; --k) next = helper_rule({{item, ref(next), end()}, {end()}});
      out.push_back(ref(next));
    }
    return true;
  }

  // A rule that can reach itself before consuming a character would expand forever.
  Status check_left_recursion() {
    const size_t n = g_.rules.size();
    std::vector<bool> nullable(n, false);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < n; ++r) {
        if (nullable[r]) continue;
        for (const auto& alt : g_.rules[r]) {
          bool all = true;
          for (const auto& e : alt) {
            if (e.kind == Kind::kEnd) break;
            if (e.kind == Kind::kChars || !nullable[e.value]) {
              all = false;
              break;
            }
          }
          if (all) {
            nullable[r] = true;
            changed = true;
            break;
          }
        }
      }
    }
    // first[r]: rules r may start with (through nullable prefixes).
    std::vector<std::vector<uint32_t>> first(n);
    for (size_t r = 0; r < n; ++r)
      for (const auto& alt : g_.rules[r])
        for (const auto& e : alt) {
          if (e.kind != Kind::kRule) break;
          first[r].push_back(e.value);
          if (!nullable[e.value]) break;
        }
    std::vector<int> state(n, 0);  // 0 new, 1 on the path, 2 done
    std::function<std::optional<uint32_t>(uint32_t)> visit = [&](uint32_t r) -> std::optional<uint32_t> {
      state[r] = 1;
      for (uint32_t f : first[r]) {
        if (state[f] == 1) return f;
        if (state[f] == 0)
          if (auto cyc = visit(f)) return cyc;
      }
      state[r] = 2;
      return std::nullopt;
    };
    for (uint32_t r = 0; r < n; ++r)
      if (state[r] == 0)
        if (auto cyc = visit(r)) return make_error("rule '{}' is left-recursive", g_.names[*cyc]);
    return {};
  }

  static constexpr int kMaxNesting = 64;
  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
  Grammar g_;
  std::map<std::string, uint32_t> index_;
  std::vector<bool> defined_;
  std::optional<Error> error_;
};

}  // namespace

Expected<Grammar> parse_gbnf(std::string_view text) { return Parser(text).parse(); }

}  // namespace mx
