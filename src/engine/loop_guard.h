// Notices when generation has fallen into a loop: the last tokens repeat a cycle of some
// period (1..max_period tokens) over and over, as in "提高可靠性，提高可靠性，…". One pass
// per token keeps, for every period p, how many consecutive tokens equalled the token p
// before them; a cycle of period p repeated r times makes that run (r - 1) p long.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/token.h"

namespace mx {

enum class LoopGuardMode { kOff, kStop, kPenalize };
std::optional<LoopGuardMode> loop_guard_mode_from_name(std::string_view name);  // off|stop|penalize

struct LoopGuardParams {
  LoopGuardMode mode = LoopGuardMode::kPenalize;
  int max_period = 64;
  int min_repeats = 4;       // whole cycles seen before a loop is declared
  int min_repeats_long = 3;  // ... for cycles of long_period tokens or more (whole phrases)
  int long_period = 8;
  // Very short cycles ("0, 0, 0", "| --- |") occur in legitimate text, so they must also
  // cover more tokens before they count.
  int min_tokens_short = 32;  // periods 1 and 2
  int min_tokens = 12;        // longer periods
};

struct DetectedLoop {
  int period;    // tokens per cycle
  int repeats;   // whole cycles so far
};

class LoopDetector {
 public:
  explicit LoopDetector(LoopGuardParams params = {});
  // Feeds the next token; a loop if one is established with this token.
  std::optional<DetectedLoop> push(Token t);
  void reset();

 private:
  LoopGuardParams p_;
  std::vector<Token> recent_;  // ring of the last max_period tokens
  std::vector<int> run_;       // run_[p]: consecutive tokens equal to the one p before
  int64_t count_ = 0;
};

}  // namespace mx
