#include "tokenizer/tokenizer.h"

#include "gguf/gguf_file.h"
#include "tokenizer/bpe.h"
#include "tokenizer/spm.h"
#include "tokenizer/wpm.h"

namespace mx {
namespace {

// ASCII whitespace, as llama.cpp's isspace() sees it in the C locale.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

const std::string kEmpty;

// llama.cpp's clean-up after detokenizing (Hugging Face's clean_up_tokenization_spaces),
// three passes over the bytes: " ?", " !", " .", " ," lose the space; a lone " ' "
// loses both spaces; " 's", " 'm", " 're", " 've" lose the space (" 't", " 'd", " 'll"
// keep it). Pass two blanks the space it swallows to NUL, which the next comparison
// then sees; kept for fidelity.
void clean_spaces(std::string& s) {
  if (s.size() < 2) return;
  size_t n = 1;
  for (size_t i = 1; i < s.size(); ++i) {
    const char x = s[i];
    if (s[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) --n;
    s[n++] = x;
  }
  s.resize(n);
  n = 1;
  for (size_t i = 1; i < s.size(); ++i) {
    const char x = s[i];
    if (x == '\'' && i + 1 < s.size() && s[i - 1] == ' ' && s[i + 1] == ' ') {
      --n;
      s[++i] = '\0';
    }
    s[n++] = x;
  }
  s.resize(n);
  n = 1;
  for (size_t i = 1; i < s.size(); ++i) {
    const char x = s[i];
    if (s[i - 1] == ' ' && x == '\'' && i + 1 < s.size()) {
      const char x1 = s[i + 1];
      const char x2 = i + 2 < s.size() ? s[i + 2] : '\0';
      if (x1 == 's' || x1 == 'm' || (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) --n;
    }
    s[n++] = x;
  }
  s.resize(n);
}

}  // namespace

Expected<std::unique_ptr<Tokenizer>> Tokenizer::create(Vocab vocab) {
  switch (vocab.kind()) {
    case VocabKind::kSpm:
      return std::unique_ptr<Tokenizer>(std::make_unique<SpmTokenizer>(std::move(vocab)));
    case VocabKind::kBpe:
      return BpeTokenizer::create(std::move(vocab));
    case VocabKind::kWpm:
      return WpmTokenizer::create(std::move(vocab));
  }
  return make_error("unknown vocabulary kind");
}

Expected<std::unique_ptr<Tokenizer>> Tokenizer::from_gguf(const gguf::File& file) {
  auto vocab = Vocab::from_gguf(file);
  if (!vocab) return vocab.error();
  return create(std::move(*vocab));
}

Tokenizer::Tokenizer(Vocab vocab, NormalPiece normal_piece) : vocab_(std::move(vocab)) {
  // Pieces are computed once: decoding is then a lookup per token.
  pieces_.resize(vocab_.size());
  for (Token id = 0; id < vocab_.size(); ++id) {
    switch (vocab_.type(id)) {
      case TokenType::kNormal:
        pieces_[id] = normal_piece(vocab_, id);
        break;
      case TokenType::kByte:
        pieces_[id] = std::string(1, static_cast<char>(vocab_.token_byte(id)));
        break;
      case TokenType::kControl:
      case TokenType::kUnknown:
      case TokenType::kUserDefined:
        pieces_[id] = vocab_.text(id);  // written as is, '▁' included
        break;
      case TokenType::kUnused:
      case TokenType::kUndefined:
        break;  // decodes to nothing, as in llama.cpp
    }
  }
}

const std::string& Tokenizer::token_to_piece(Token id, bool render_special) const {
  if (!vocab_.contains(id)) return kEmpty;
  if (!render_special && vocab_.is_control(id)) return kEmpty;
  return pieces_[id];
}

std::vector<Fragment> Tokenizer::split_special(std::string_view text, bool parse_special,
                                               std::span<const TextRange> literal) const {
  auto in_literal = [&](size_t begin, size_t end) {
    for (const TextRange& r : literal)
      if (begin < r.end && r.begin < end) return true;
    return false;
  };
  std::vector<Fragment> frags, next;
  if (!text.empty()) frags.push_back({kNoToken, 0, text.size()});
  // One pass per special token, longest first, so "<|end|>" wins over a shorter token
  // inside it; this is llama.cpp's tokenizer_st_partition.
  for (Token special : vocab_.special_tokens()) {
    // User-defined tokens are split out even when specials are not parsed (as Hugging
    // Face's added tokens are).
    if (!parse_special && vocab_.is_control(special)) continue;
    const TokenInfo& info = vocab_.info(special);
    const std::string_view needle = info.text;
    next.clear();
    for (const Fragment& f : frags) {
      if (f.token != kNoToken) {
        next.push_back(f);
        continue;
      }
      size_t pos = f.begin;
      while (pos < f.end) {
        size_t match = text.substr(0, f.end).find(needle, pos);
        if (vocab_.is_control(special))
          while (match != std::string_view::npos && in_literal(match, match + needle.size()))
            match = text.substr(0, f.end).find(needle, match + 1);
        if (match == std::string_view::npos) break;
        size_t left_end = match;
        if (info.lstrip)
          while (left_end > pos && is_space(text[left_end - 1])) --left_end;
        if (left_end > pos) next.push_back({kNoToken, pos, left_end});
        next.push_back({special, match, match + needle.size()});
        pos = match + needle.size();
        if (info.rstrip)
          while (pos < f.end && is_space(text[pos])) ++pos;
      }
      if (pos < f.end) next.push_back({kNoToken, pos, f.end});
    }
    frags.swap(next);
  }
  return frags;
}

std::vector<Token> Tokenizer::encode(std::string_view text, bool add_special,
                                     bool parse_special) const {
  return encode_fragments(text, add_special, split_special(text, parse_special));
}

std::vector<Token> Tokenizer::encode(std::string_view text, bool add_special,
                                     std::span<const TextRange> literal) const {
  return encode_fragments(text, add_special, split_special(text, /*parse_special=*/true, literal));
}

std::vector<Token> Tokenizer::encode_fragments(std::string_view text, bool add_special,
                                               const std::vector<Fragment>& fragments) const {
  std::vector<Token> out;
  out.reserve(text.size() / 3 + 2);
  if (add_special && vocab_.add_bos()) out.push_back(vocab_.bos());
  bool after_special = true;  // the start of the text counts as after a special token
  for (const Fragment& f : fragments) {
    if (f.token != kNoToken) {
      out.push_back(f.token);
      after_special = true;
    } else {
      encode_text(text.substr(f.begin, f.end - f.begin), after_special, out);
      after_special = false;
    }
  }
  if (add_special && vocab_.add_eos()) out.push_back(vocab_.eos());
  if (add_special && vocab_.add_sep()) out.push_back(vocab_.sep());
  return out;
}

std::string Tokenizer::decode(std::span<const Token> ids, const DecodeOptions& options) const {
  bool strip = options.strip_space_prefix && vocab_.add_space_prefix();
  if (options.remove_special && vocab_.add_bos() && !ids.empty() && ids.front() == vocab_.bos()) {
    ids = ids.subspan(1);
    strip = false;  // the space after BOS stays, as in llama.cpp's detokenize
  }
  if (options.remove_special && vocab_.add_eos() && !ids.empty() && ids.back() == vocab_.eos())
    ids = ids.subspan(0, ids.size() - 1);

  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string_view piece = token_to_piece(ids[i], options.render_special);
    // Only the first token can carry the prefix space; a hidden BOS there uses up the chance.
    if (i == 0 && strip && !piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
    out.append(piece);
  }
  if (options.clean_spaces && vocab_.clean_spaces()) clean_spaces(out);
  return out;
}

}  // namespace mx
