// Follows a GBNF grammar through generated text. The parser state is the set of stacks
// (positions in rules) still alive after the characters accepted so far; a token is
// allowed when its bytes keep at least one stack alive, and bytes of a character split
// across tokens wait until the character is complete.
//
// Speed: stack sets are interned as numbered states and each (state, character) step is
// remembered, so a step the grammar has taken before costs one hash lookup. Masking a
// whole vocabulary walks the tokens in byte order and checks each shared prefix once;
// masks are remembered per state (inside a JSON string the state repeats every token).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sampling/gbnf.h"
#include "sampling/token_texts.h"

namespace mx {

class GrammarMatcher {
 public:
  explicit GrammarMatcher(std::shared_ptr<const Grammar> grammar);

  bool can_accept(std::string_view bytes) const;
  void accept(std::string_view bytes);  // bytes that can_accept allowed
  // The text so far is a whole sentence of the grammar (end of text may come now).
  bool is_complete() const;
  // Whether some character could come next.
  bool can_continue() const;
  // allowed[id] = 1 for every token whose text the grammar allows next, else 0.
  const std::vector<uint8_t>& allowed_tokens(const TokenTexts& texts) const;

 private:
  struct Pos {
    uint32_t rule, alt, index;
    auto operator<=>(const Pos&) const = default;
  };
  using Stack = std::vector<Pos>;
  using Stacks = std::vector<Stack>;
  using StateId = uint32_t;
  static constexpr StateId kDead = UINT32_MAX;
  static constexpr StateId kUnknown = UINT32_MAX - 1;

  // Where the text is: a state, and the first bytes of an unfinished character, packed
  // in one word (state << 32 | byte count << 24 | bytes), which is also its cache key.
  struct Cursor {
    uint64_t bits = uint64_t{kDead} << 32;

    static Cursor at(StateId state) { return {uint64_t{state} << 32}; }
    StateId state() const { return static_cast<StateId>(bits >> 32); }
    size_t pending_count() const { return (bits >> 24) & 0xff; }
    uint8_t pending(size_t i) const { return static_cast<uint8_t>(bits >> (16 - 8 * i)); }
    Cursor with_pending(uint8_t byte) const {
      const size_t n = pending_count();
      return {(bits & ~(uint64_t{0xff} << 24)) | uint64_t{n + 1} << 24 | uint64_t{byte} << (16 - 8 * n)};
    }
  };

  // Expands a stack until its top is a character class (or it is empty: complete).
  void expand(Stack stack, Stacks& out, int depth = 0) const;
  Stacks advance(const Stacks& stacks, uint32_t cp) const;
  const GrammarElement& element(const Pos& p) const { return g_->rules[p.rule][p.alt][p.index]; }

  StateId intern(Stacks stacks) const;
  StateId step(StateId state, uint32_t cp) const;  // kDead if the grammar rejects cp
  StateId compute_step(StateId state, uint32_t cp) const;
  // The cursor after one more byte; its state is kDead if the grammar rejects the byte.
  Cursor step_byte(Cursor c, uint8_t byte) const;
  bool feed(std::string_view bytes, Cursor& c) const;
  // Some character the pending bytes can still become is allowed next.
  bool pending_allowed(Cursor c) const;
  bool ends_token(Cursor c) const { return c.pending_count() == 0 || pending_allowed(c); }

  std::shared_ptr<const Grammar> g_;
  Cursor cursor_;
  // Caches; they never change what is accepted, only how fast.
  mutable std::vector<Stacks> states_;
  mutable std::unordered_map<std::string, StateId> state_ids_;
  mutable std::vector<StateId> ascii_steps_;             // state * 128 + ASCII character
  // A step depends only on which of the state's stacks accept the character: state << 32 |
  // that set as bits (for states of up to 32 stacks; larger ones by code point, tagged).
  mutable std::unordered_map<uint64_t, StateId> steps_;
  // Recent steps on other characters, direct-mapped: most steps then skip the work above.
  struct WideStep {
    StateId state = kDead;
    uint32_t cp = 0;
    StateId next = kDead;
  };
  mutable std::vector<WideStep> wide_steps_;
  mutable std::unordered_map<uint64_t, bool> pending_ok_;  // Cursor::bits
  mutable std::unordered_map<uint64_t, std::vector<uint8_t>> masks_;  // Cursor::bits
  mutable const TokenTexts* masks_texts_ = nullptr;                    // the masks' vocabulary
};

}  // namespace mx
