#include "tokenizer/wpm.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include "tokenizer/unicode_data.h"
#include "core/utf8.h"

namespace mx {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // '▁': llama.cpp's BERT vocabularies mark word starts

enum class Class { kOther = 0, kSpace = 1, kControl = 2, kPunct = 3, kSymbol = 4, kMark = 5 };

// Capture group n of the pattern is Class n; whitespace is tested first, since '\n'
// is a control character too.
constexpr std::string_view kClassPattern = R"((\s)|(\p{C})|(\p{P})|(\p{S})|(\p{M}))";

struct MatchDataDeleter {
  void operator()(pcre2_match_data* d) const { pcre2_match_data_free(d); }
};

uint32_t code_point(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i])); };
  switch (s.size()) {
    case 1: return b(0);
    case 2: return (b(0) & 0x1F) << 6 | (b(1) & 0x3F);
    case 3: return (b(0) & 0x0F) << 12 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F);
    default: return (b(0) & 0x07) << 18 | (b(1) & 0x3F) << 12 | (b(2) & 0x3F) << 6 | (b(3) & 0x3F);
  }
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | cp >> 6));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | cp >> 12));
    out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | cp >> 18));
    out.push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The CJK blocks BERT's tokenizer isolates (the Hugging Face list, including its
// 0x2B920 start of one range where the Unicode block starts at 0x2B820).
bool is_chinese(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) ||
         (cp >= 0x2B920 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// '▁' -> ' ', as SPM pieces.
std::string normal_piece(const Vocab& vocab, Token id) {
  const std::string_view text = vocab.text(id);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i, kSpaceMark.size()) == kSpaceMark) {
      out.push_back(' ');
      i += kSpaceMark.size();
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

}  // namespace

void WpmTokenizer::CodeDeleter::operator()(pcre2_real_code_8* code) const { pcre2_code_free(code); }

Expected<std::unique_ptr<Tokenizer>> WpmTokenizer::create(Vocab vocab) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  std::unique_ptr<pcre2_real_code_8, CodeDeleter> code(
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kClassPattern.data()), kClassPattern.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &error, &offset, nullptr));
  if (!code) return make_error("WordPiece character classes: PCRE2 error {}", error);
  pcre2_jit_compile(code.get(), PCRE2_JIT_COMPLETE);
  return std::unique_ptr<Tokenizer>(new WpmTokenizer(std::move(vocab), std::move(code)));
}

WpmTokenizer::WpmTokenizer(Vocab vocab, std::unique_ptr<pcre2_real_code_8, CodeDeleter> classes)
    : Tokenizer(std::move(vocab), &normal_piece), classes_(std::move(classes)) {}

std::vector<std::string> WpmTokenizer::words(std::string_view text) const {
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(pcre2_match_data_create(6, nullptr));
  auto classify = [&](std::string_view ch) {
    const int rc = pcre2_match(classes_.get(), reinterpret_cast<PCRE2_SPTR>(ch.data()), ch.size(), 0,
                               PCRE2_NO_UTF_CHECK, md.get(), nullptr);
    return rc > 1 ? static_cast<Class>(rc - 1) : Class::kOther;  // rc = highest group + 1
  };
  const Vocab& v = vocab();
  std::vector<std::string> words(1);
  std::string ch;
  for (size_t i = 0; i < text.size();) {
    const utf8::Scan sc = utf8::scan(text.substr(i));
    if (sc.status != utf8::Status::kComplete) {  // U+FFFD, which BERT drops
      i += 1;
      continue;
    }
    uint32_t cp = code_point(text.substr(i, sc.length));
    i += sc.length;
    if (v.strip_accents()) cp = unicode::nfd_first(cp);
    ch.clear();
    append_utf8(cp, ch);
    const Class c = classify(ch);
    if (c == Class::kSpace) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    if (cp == 0 || cp == 0xFFFD || c == Class::kControl) continue;
    if (v.strip_accents() && c == Class::kMark) continue;
    if (v.lowercase()) {
      ch.clear();
      append_utf8(unicode::to_lower(cp), ch);
    }
    if (c == Class::kPunct || (cp < 0x7F && c == Class::kSymbol) || is_chinese(cp)) {
      if (!words.back().empty()) words.emplace_back();
      words.back() = ch;  // a word of its own
      words.emplace_back();
    } else {
      words.back() += ch;
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

void WpmTokenizer::encode_text(std::string_view text, bool /*after_special*/, std::vector<Token>& out) const {
  const Vocab& v = vocab();
  std::string word;
  for (const std::string& w : words(text)) {
    word.assign(kSpaceMark).append(w);
    const size_t start = out.size();
    // Longest token first at each position; one gap and the whole word is unknown.
    for (size_t i = 0; i < word.size();) {
      size_t j = std::min(word.size(), i + v.max_token_length());
      for (; j > i; --j) {
        if (const Token id = v.find(std::string_view(word).substr(i, j - i)); id != kNoToken) {
          out.push_back(id);
          break;
        }
      }
      if (j == i) {
        out.resize(start);
        break;
      }
      i = j;
    }
    if (out.size() == start && v.unk() != kNoToken) out.push_back(v.unk());
  }
}

}  // namespace mx
