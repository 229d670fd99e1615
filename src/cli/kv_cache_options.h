// --cache-type-k / --cache-type-v, as llama.cpp names them, for every command that keeps
// a KV cache (run, serve, bench, perplexity).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "core/expected.h"
#include "model/config.h"
#include "model/kv_cache.h"

namespace mx::cli {

struct KvCacheCliOptions {
  std::string k = "f16", v = "f16";
};

// Registers both options; an unknown type name is a usage error at parse time.
void add_kv_cache_options(CLI::App& app, KvCacheCliOptions& o);

// The types named (CLI11 has checked the names), before a model is there to check them against.
KvCacheTypes parse_kv_cache_types(const KvCacheCliOptions& o);
// The types for a model, or an error when the model's head size does not fit one.
Expected<KvCacheTypes> kv_cache_types(const KvCacheCliOptions& o, const ModelConfig& config);

}  // namespace mx::cli
