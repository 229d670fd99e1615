// The sampling and loop-guard flags of `moxing run`, named as llama.cpp names them, and
// their conversion into generation options, finished against the tokenizer as the server
// finishes a request's (engine/sampling_setup.h).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/expected.h"
#include "engine/generate.h"
#include "tokenizer/tokenizer.h"

namespace mx::cli {

struct SamplingCliOptions {
  SamplingParams params;
  std::vector<std::string> logit_bias;  // "TOKEN_ID+BIAS" / "TOKEN_ID-BIAS" / "TOKEN_ID-inf"
  std::string samplers;                 // order, "top_k;top_p;temperature"
  std::string loop_guard = "penalize";
  std::string grammar;       // GBNF text
  std::string grammar_file;  // or a file of it
  std::string json_schema;       // JSON Schema text: output is JSON it accepts
  std::string json_schema_file;  // or a file of it
  bool json = false;             // output is a JSON object
};

void add_sampling_options(CLI::App& app, SamplingCliOptions& o);

Expected<GenerateOptions> make_generate_options(const SamplingCliOptions& o, const Tokenizer& tokenizer,
                                                int64_t n_predict);

}  // namespace mx::cli
