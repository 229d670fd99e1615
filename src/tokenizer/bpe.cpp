#include "tokenizer/bpe.h"

#include <algorithm>
#include <string>

#include "tokenizer/byte_map.h"
#include "tokenizer/pre_tokenizer.h"
#include "core/utf8.h"

namespace mx {
namespace {

// A run of the word's bytes in a doubly linked list; a merge grows the left symbol and
// unlinks the right one.
struct Symbol {
  int32_t id;           // symbol (token id or extra id)
  int32_t prev, next;   // -1 at the ends
  uint32_t begin, len;  // bytes of the word; len 0 once merged away
};

struct Candidate {
  int32_t rank;
  int32_t left, right;  // symbol indices
  int32_t result;
  uint32_t len;  // left.len + right.len when queued: a mismatch later means it is stale
};

// Heap order: lowest rank on top, then the leftmost pair (as llama.cpp's comparator).
// A function object rather than a function so the heap operations inline it.
struct Later {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

uint64_t pair_key(int32_t left, int32_t right) {
  return static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32 | static_cast<uint32_t>(right);
}

// Fibonacci hashing: the high bits of key * 2^64/phi spread consecutive ids well.
size_t slot_of(uint64_t key, int shift) { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift); }

// Each GPT-2 character back to its byte; any other character is kept as its UTF-8
// (llama.cpp writes "[UNK_BYTE_..]" there; no real vocabulary has such normal tokens).
std::string normal_piece(const Vocab& vocab, Token id) {
  const std::string& text = vocab.text(id);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const utf8::Scan sc = utf8::scan(std::string_view(text).substr(i));
    if (sc.status == utf8::Status::kComplete && sc.length <= 2) {
      const auto b0 = static_cast<uint8_t>(text[i]);
      const uint32_t cp = sc.length == 1 ? b0 : (b0 & 0x1Fu) << 6 | (static_cast<uint8_t>(text[i + 1]) & 0x3Fu);
      if (const int byte = byte_map::byte_of(cp); byte >= 0) {
        out.push_back(static_cast<char>(byte));
        i += sc.length;
        continue;
      }
    }
    const size_t n = sc.status == utf8::Status::kComplete ? sc.length : 1;
    out.append(text, i, n);
    i += n;
  }
  return out;
}

// llama.cpp decodes leniently and turns each byte it cannot read into U+FFFD; the
// pre-tokenizer needs valid UTF-8 anyway.
std::string replace_ill_formed(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (size_t i = 0; i < text.size();) {
    const utf8::Scan sc = utf8::scan(text.substr(i));
    if (sc.status == utf8::Status::kComplete) {
      out.append(text.substr(i, sc.length));
      i += sc.length;
    } else {
      out.append(utf8::kReplacement);
      i += 1;
    }
  }
  return out;
}

}  // namespace

// Per-call buffers, reused from word to word.
struct BpeTokenizer::Scratch {
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
  std::string spelled;  // the word in GPT-2 characters (ignore_merges lookups)
};

Expected<std::unique_ptr<Tokenizer>> BpeTokenizer::create(Vocab vocab) {
  const PreTokenizerSpec* spec = find_pre_tokenizer(vocab.pre());
  if (!spec || !spec->supported)  // Vocab::create refuses these; a guard for hand-made ones
    return make_error("BPE pre-tokenizer '{}' is not supported", vocab.pre());
  auto pre = PreTokenizer::compile(spec->regexes);
  if (!pre) return pre.error();
  std::unique_ptr<BpeTokenizer> t(new BpeTokenizer(std::move(vocab), std::move(*pre)));
  t->build_merges();
  return std::unique_ptr<Tokenizer>(std::move(t));
}

BpeTokenizer::BpeTokenizer(Vocab vocab, PreTokenizer pre)
    : Tokenizer(std::move(vocab), &normal_piece), pre_(std::move(pre)) {}

void BpeTokenizer::build_merges() {
  const Vocab& v = vocab();
  // Strings that are not tokens get ids after the vocabulary; only merges can make them.
  std::unordered_map<std::string, int32_t> extra;
  auto intern = [&](std::string_view s) -> int32_t {
    if (const Token id = v.find(s); id != kNoToken) return id;
    auto [it, fresh] = extra.try_emplace(std::string(s), v.size() + static_cast<int32_t>(extra.size()));
    return it->second;
  };
  for (int b = 0; b < 256; ++b) {
    byte_symbol_[b] = intern(byte_map::char_of(static_cast<uint8_t>(b)));
    char_token_[b] = v.find(std::string(1, static_cast<char>(b)));
  }
  const std::vector<std::string>& merges = v.merges();
  size_t capacity = 16;
  int bits = 4;
  while (capacity < 2 * merges.size()) capacity *= 2, ++bits;
  merges_.assign(capacity, Merge{});
  merge_shift_ = 64 - bits;
  std::string joined;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string_view m = merges[rank];
    // "left right", split at the first space after the first character (llama.cpp's
    // rule, which lets a left part be a literal space).
    const size_t space = m.find(' ', 1);
    if (space == std::string_view::npos) continue;  // never matches anything in llama.cpp
    const std::string_view left = m.substr(0, space), right = m.substr(space + 1);
    if (left.empty() || right.empty()) continue;
    joined.assign(left).append(right);
    const int32_t l = intern(left), r = intern(right);
    const uint64_t key = pair_key(l, r);
    size_t i = slot_of(key, merge_shift_);
    while (merges_[i].key != kEmpty && merges_[i].key != key) i = (i + 1) & (capacity - 1);
    // The first rank of a repeated pair wins, as with llama.cpp's map emplace.
    if (merges_[i].key == kEmpty) merges_[i] = {key, static_cast<int32_t>(rank), intern(joined)};
  }
}

const BpeTokenizer::Merge* BpeTokenizer::find_merge(int32_t left, int32_t right) const {
  const uint64_t key = pair_key(left, right);
  const size_t mask = merges_.size() - 1;
  for (size_t i = slot_of(key, merge_shift_);; i = (i + 1) & mask) {
    if (merges_[i].key == key) return &merges_[i];
    if (merges_[i].key == kEmpty) return nullptr;
  }
}

void BpeTokenizer::encode_text(std::string_view text, bool /*after_special*/, std::vector<Token>& out) const {
  std::string repaired;
  if (!utf8::is_valid(text)) {
    repaired = replace_ill_formed(text);
    text = repaired;
  }
  Scratch scratch;
  // Spans and symbol indices are 32-bit: a fragment beyond 1 GiB is cut (at a character
  // boundary) into pieces pre-tokenized on their own, the only place this differs.
  constexpr size_t kMaxPiece = size_t{1} << 30;
  while (!text.empty()) {
    size_t n = text.size();
    if (n > kMaxPiece) {
      n = kMaxPiece;
      while ((static_cast<uint8_t>(text[n]) & 0xC0) == 0x80) --n;
    }
    const std::string_view piece = text.substr(0, n);
    for (const Span& w : pre_.split(piece)) encode_word(piece.substr(w.begin, w.end - w.begin), scratch, out);
    text.remove_prefix(n);
  }
}

void BpeTokenizer::encode_word(std::string_view word, Scratch& s, std::vector<Token>& out) const {
  if (vocab().ignore_merges()) {
    // Llama 3: a word that is a token is used as is, even where merges would split it.
    s.spelled.clear();
    for (char c : word) s.spelled.append(byte_map::char_of(static_cast<uint8_t>(c)));
    if (const Token id = vocab().find(s.spelled); id != kNoToken) {
      out.push_back(id);
      return;
    }
  }
  if (word.size() == 1) {
    emit(word, byte_symbol_[static_cast<uint8_t>(word[0])], out);
    return;
  }

  std::vector<Symbol>& sym = s.symbols;
  std::vector<Candidate>& heap = s.heap;
  sym.clear();
  heap.clear();
  const auto n = static_cast<int32_t>(word.size());
  for (int32_t i = 0; i < n; ++i)
    sym.push_back({byte_symbol_[static_cast<uint8_t>(word[i])], i - 1, i + 1 < n ? i + 1 : -1,
                   static_cast<uint32_t>(i), 1});
  auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Merge* m = find_merge(sym[left].id, sym[right].id);
    if (!m) return;
    heap.push_back({m->rank, left, right, m->result, sym[left].len + sym[right].len});
    std::push_heap(heap.begin(), heap.end(), Later{});
  };
  for (int32_t i = 1; i < n; ++i) try_add(i - 1, i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), Later{});
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& left = sym[c.left];
    Symbol& right = sym[c.right];
    // Lengths only grow and the left symbol's start never moves, so unchanged lengths
    // mean the same two strings, still adjacent (llama.cpp compares the texts).
    if (left.len == 0 || right.len == 0 || left.len + right.len != c.len) continue;
    left.id = c.result;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) sym[right.next].prev = c.left;
    try_add(left.prev, c.left);
    try_add(c.left, left.next);
  }
  for (int32_t i = 0; i != -1; i = sym[i].next) emit(word.substr(sym[i].begin, sym[i].len), sym[i].id, out);
}

void BpeTokenizer::emit(std::string_view bytes, int32_t symbol, std::vector<Token>& out) const {
  if (symbol < vocab().size()) {
    out.push_back(symbol);
    return;
  }
  // Not a token: llama.cpp looks up each byte of the GPT-2 spelling as a one-byte token
  // and drops the ones that are not (real vocabularies have every byte character).
  for (char c : bytes)
    for (char spelled : byte_map::char_of(static_cast<uint8_t>(c)))
      if (const Token id = char_token_[static_cast<uint8_t>(spelled)]; id != kNoToken) out.push_back(id);
}

}  // namespace mx
