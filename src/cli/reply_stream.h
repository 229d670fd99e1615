// Generation as the terminal shows it: tokens decoded to whole UTF-8 characters, held back
// while they might be the start of a stop string, printed as soon as they are final.
// `moxing run` uses it for a plain prompt and for each turn of a chat.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "cli/common.h"
#include "engine/generate.h"

namespace mx::cli {

struct ReplyOptions {
  GenerateOptions generate;
  std::vector<std::string> stop_strings;
  // The reply starts a text of its own (a chat message), so the space the tokenizer
  // writes before a first word (SentencePiece's '▁') is dropped, as decode() does.
  bool starts_text = false;
  Drafter* drafter = nullptr;  // speculative decoding, when set
  bool ignore_eos = false;     // end-of-generation tokens do not end it (benchmarks)
};

struct Reply {
  std::string text;   // what was printed: without the stop string or end-of-turn token
  std::vector<Token> tokens;  // every token generated, in order
  GenerateStats stats;
};

// Appends `new_tokens` to sequence 0 of the cache and generates after them, printing to stdout.
Expected<Reply> stream_reply(const LoadedModel& loaded, ExecContext& ctx, KvCache& cache,
                             std::span<const Token> new_tokens, const ReplyOptions& options);

// One log line each for prompt processing and generation speed.
void log_generation_stats(const GenerateStats& stats);

}  // namespace mx::cli
