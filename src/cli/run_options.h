// Options of `moxing run`, shared by its plain-prompt and chat modes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/common.h"
#include "cli/kv_cache_options.h"
#include "cli/sampling_options.h"
#include "cli/speculation_options.h"

namespace mx::cli {

struct RunOptions {
  std::string path;
  std::string prompt;
  int64_t n_predict = 128;
  int64_t n_ctx = 0;  // 0: the model's training context, capped at 4096
  int threads = default_threads();
  KvCacheCliOptions cache_types;
  SamplingCliOptions sampling;
  SpeculationCliOptions speculation;
  std::vector<std::string> stop_strings;
  bool no_display_prompt = false;
  bool ignore_eos = false;
  // Chat mode
  bool chat = false;
  std::string system_prompt;
  std::string chat_template_file;  // replaces the model's template
  bool verbose_prompt = false;     // log each rendered prompt
};

// What `run` set up for the model, which a chat uses as the plain prompt does.
struct ChatRunContext {
  ExecContext& ctx;
  int64_t n_ctx;
  KvCacheTypes cache_types;
  Drafter* drafter;  // speculative decoding, when asked for
};

// Interactive (or, with a prompt, one-turn) chat using the model's chat template.
int run_chat(const RunOptions& options, const LoadedModel& loaded, const ChatRunContext& run);

}  // namespace mx::cli
