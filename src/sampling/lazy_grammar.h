// Lazy grammars (llama.cpp's grammar triggers): the grammar waits while the model writes
// free text and takes over once the text reaches a trigger word (`<tool_call>`,
// `[TOOL_CALLS]`, `<|python_tag|>`, or `{"` at the start of a reply). The grammar's root
// describes the constrained part starting WITH the trigger: the trigger and whatever its
// token brings after it are the grammar's first text.
//
// TriggerDetector finds triggers in the generated text fed token by token; a trigger split
// across tokens is found, and so is one in the middle of a token (the bytes before it stay
// free text). It keeps only the last bytes a trigger could still end in.
#pragma once

#include <bitset>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/token.h"

namespace mx {

struct LazyTrigger {
  std::vector<std::string> words;  // any of them starts the grammar
  // Only when the word begins the reply (after optional whitespace): a JSON fallback's
  // `{"` must not fire on JSON quoted in the middle of an answer.
  bool at_start_only = false;
  // Tokens that start the grammar wherever they are drawn (at_start_only aside): markers
  // that are control tokens, whose text is "" (engine/grammar_setup.h), so no word can
  // match them. Their text, if any, is the grammar's first text: for a control token the
  // grammar's root describes what follows the marker.
  std::vector<Token> tokens;
};

class TriggerDetector {
 public:
  explicit TriggerDetector(const std::vector<LazyTrigger>& triggers);

  // If `text` came next: the grammar's first text (from the earliest trigger that ends in
  // `text` to the end of `text`), or nothing when no trigger would complete.
  std::optional<std::string> peek(std::string_view text) const;
  // Feeds `text`: the same answer as peek(), and the text becomes part of the reply.
  std::optional<std::string> feed(std::string_view text);
  bool empty() const { return words_.empty(); }

 private:
  struct Word {
    std::string text;
    bool at_start_only;
  };
  std::vector<Word> words_;
  std::bitset<256> last_bytes_;  // a trigger can only end in a text holding one of these
  size_t longest_ = 0;
  std::string window_;        // the reply's last bytes, up to longest_ - 1 of them
  size_t total_ = 0;          // bytes of the reply so far
  size_t first_text_ = npos;  // offset in the reply of its first non-whitespace byte
  static constexpr size_t npos = std::string::npos;
};

}  // namespace mx
