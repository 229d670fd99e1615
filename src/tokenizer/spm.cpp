#include "tokenizer/spm.h"

#include <queue>

#include "core/utf8.h"

namespace mx {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581 '▁', SentencePiece's space

// A run of the text in a doubly linked list; merging grows the left one and unlinks the right.
struct Symbol {
  int32_t prev, next;  // -1 at the ends
  uint32_t begin, len;  // bytes of the escaped text; len 0 once merged away
};

struct Bigram {
  float score;
  int32_t left, right;
  uint32_t len;  // the pair's length when queued: a mismatch later means it is stale
};

// Highest score first; on ties the leftmost pair, so equal merges go left to right.
struct LowerPriority {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

// Per-call state: the tokenizer itself stays const and shareable.
class Session {
 public:
  explicit Session(const Vocab& vocab) : vocab_(vocab) {}

  void run(std::string_view text, std::vector<Token>& out) {
    text_ = text;
    symbols_.clear();
    split_chars();
    for (int32_t i = 1; i < static_cast<int32_t>(symbols_.size()); ++i) try_add(i - 1, i);
    while (!queue_.empty()) {
      const Bigram b = queue_.top();
      queue_.pop();
      Symbol& left = symbols_[b.left];
      Symbol& right = symbols_[b.right];
      if (left.len == 0 || right.len == 0 || left.len + right.len != b.len) continue;
      left.len += right.len;
      right.len = 0;
      left.next = right.next;
      if (right.next >= 0) symbols_[right.next].prev = b.left;
      try_add(left.prev, b.left);
      try_add(b.left, left.next);
    }
    if (symbols_.empty()) return;
    for (int32_t i = 0; i != -1; i = symbols_[i].next) emit(symbols_[i], out);
  }

 private:
  void split_chars() {
    for (size_t pos = 0; pos < text_.size();) {
      const size_t n = utf8::char_length(text_, pos);
      const auto index = static_cast<int32_t>(symbols_.size());
      const bool last = pos + n == text_.size();
      symbols_.push_back({index - 1, last ? -1 : index + 1, static_cast<uint32_t>(pos),
                          static_cast<uint32_t>(n)});
      pos += n;
    }
  }

  void try_add(int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const uint32_t len = symbols_[left].len + symbols_[right].len;
    if (len > vocab_.max_token_length()) return;  // cannot be a token: skip the lookup
    const Token id = vocab_.find(text_.substr(symbols_[left].begin, len));
    if (id == kNoToken) return;
    queue_.push({vocab_.score(id), left, right, len});
  }

  // Every merge made a token, so only never-merged characters can miss: spell them in bytes.
  void emit(const Symbol& s, std::vector<Token>& out) const {
    const std::string_view piece = text_.substr(s.begin, s.len);
    if (Token id = vocab_.find(piece); id != kNoToken) {
      out.push_back(id);
      return;
    }
    for (char c : piece) {
      Token id = vocab_.byte_token(static_cast<uint8_t>(c));
      if (id == kNoToken) id = vocab_.unk();
      if (id != kNoToken) out.push_back(id);  // no byte tokens and no UNK: nothing can say it
    }
  }

  const Vocab& vocab_;
  std::string_view text_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Bigram, std::vector<Bigram>, LowerPriority> queue_;
};

// '▁' -> ' '.
std::string normal_piece(const Vocab& vocab, Token id) {
  const std::string& text = vocab.text(id);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
      out.push_back(' ');
      i += kSpaceMark.size();
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}


// The character that ends just before byte `end` of valid-or-not UTF-8 text.
std::string_view char_before(std::string_view text, size_t end) {
  size_t begin = end - 1;
  while (begin > 0 && end - begin < 4 && (static_cast<uint8_t>(text[begin]) & 0xC0) == 0x80) --begin;
  return text.substr(begin, end - begin);
}

}  // namespace

SpmTokenizer::SpmTokenizer(Vocab vocab) : Tokenizer(std::move(vocab), &normal_piece) {
  for (Token id = 0; id < this->vocab().size(); ++id) {
    const std::string_view text = this->vocab().text(id);
    for (size_t at = text.find(kSpaceMark, 1); at != std::string_view::npos; at = text.find(kSpaceMark, at + 1))
      joins_space_.emplace(char_before(text, at));
  }
}

void SpmTokenizer::encode_text(std::string_view text, bool after_special,
                               std::vector<Token>& out) const {
  std::string escaped;
  escaped.reserve(text.size() + kSpaceMark.size());
  if (after_special && vocab().add_space_prefix()) escaped.append(kSpaceMark);
  for (char c : text) {
    if (c == ' ') {
      escaped.append(kSpaceMark);
    } else {
      escaped.push_back(c);
    }
  }
  Session session(vocab());
  const std::string_view all = escaped;
  size_t word = 0;
  for (size_t at = all.find(kSpaceMark, 1); at != std::string_view::npos; at = all.find(kSpaceMark, at + 1)) {
    if (joins_space_.contains(std::string(char_before(all, at)))) continue;  // a token may span it
    session.run(all.substr(word, at - word), out);
    word = at;
  }
  session.run(all.substr(word), out);
}

}  // namespace mx
