// Keeps generated text well-formed UTF-8 by construction. Byte tokens (SPM's byte
// fallback, byte-level BPE pieces that split a character) can be drawn in orders no
// character has, and a detokenizer can then only print U+FFFD. This stage allows a token
// only if its bytes continue the output as well-formed UTF-8 (the last character may stay
// open), and holds back text-less tokens (end of generation, control) while a character
// is open.
#pragma once

#include <memory>
#include <string_view>

#include "core/utf8.h"
#include "sampling/candidates.h"
#include "sampling/token_texts.h"

namespace mx {

class Utf8Guard final : public Sampler {
 public:
  explicit Utf8Guard(std::shared_ptr<const TokenTexts> texts) : texts_(std::move(texts)) {}
  std::string_view name() const override { return "utf8"; }
  // Sets the logit of every token that is not allowed to -inf, unless no candidate with a
  // finite logit is allowed: then nothing changes (a vocabulary without byte tokens cannot
  // always finish a character; the detokenizer replaces what stays unfinished).
  void apply(Candidates& c) override;
  void accept(Token t) override;
  bool allows(Token t) const;

 private:
  std::string_view text_of(Token t) const;

  std::shared_ptr<const TokenTexts> texts_;
  utf8::Stream output_;  // holds the open character at the end of the output, if any
};

}  // namespace mx
