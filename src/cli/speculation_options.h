// Speculative decoding on the command line, as llama.cpp names it: --model-draft with
// --draft-max / --draft-min / --draft-p-min (or llama.cpp's newer --spec-draft-* names), or
// draft-free n-gram lookup (--spec-ngram).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/common.h"
#include "core/expected.h"
#include "engine/drafter.h"
#include "tokenizer/tokenizer.h"

namespace mx::cli {

struct SpeculationCliOptions {
  std::string draft_model;  // a path or hub name; empty: no draft model
  bool ngram = false;
  SpeculationParams params;
};

void add_speculation_options(CLI::App& app, SpeculationCliOptions& o);
// What CLI11 cannot check option by option (a usage error): --draft-min above --draft-max.
Status check_speculation_options(const SpeculationCliOptions& o);

// What the options ask for: null (no speculation), n-gram lookup, or a draft model, loaded
// here and checked against the target's vocabulary (the factory keeps it alive). A draft
// model shares the caller's execution context and keeps a cache of the slot's context size
// (F16 keys and values) per sequence.
Expected<DrafterFactory> load_speculation(const SpeculationCliOptions& o, const Tokenizer& target);

}  // namespace mx::cli
