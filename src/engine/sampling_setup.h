// Finishing a request's sampling settings against the model's tokenizer. The CLI (`run`,
// `chat`, `serve`'s defaults) and the server's generation service both call
// finish_sampling(), so a setting means the same on either path.
#pragma once

#include <memory>

#include "core/expected.h"
#include "engine/generate.h"
#include "tokenizer/tokenizer.h"

namespace mx {

// What finishing reads from the vocabulary. Each part is a scan of it, so it is built once
// per tokenizer and shared by every request.
struct SamplingVocab {
  const Tokenizer* tokenizer = nullptr;
  std::shared_ptr<const TokenTexts> texts;  // every token's bytes (engine/grammar_setup.h)
  std::shared_ptr<const DryBreakerTokens> default_dry_breakers;  // for SamplingParams' default breakers
};

// `texts`: token_texts(tokenizer) if the caller has it already (else it is built here).
SamplingVocab sampling_vocab(const Tokenizer& tokenizer, std::shared_ptr<const TokenTexts> texts = nullptr);

// Checks `o.sampling` (validate(), logit-bias tokens in the vocabulary), gives it each token's
// bytes (the output stays well-formed UTF-8) and, where DRY or the loop guard's `penalize`
// may run, the tokens holding one of its dry_sequence_breakers. Tokens already found for the
// same breakers (copied from finished defaults) are kept, so a request costs no scan.
Status finish_sampling(GenerateOptions& o, const SamplingVocab& vocab);

}  // namespace mx
