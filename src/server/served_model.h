// The serving objects of one model, kept together so that unloading the model destroys them
// all and its memory returns: weights and tokenizer (owned through `weights`), chat format,
// batch runner with its KV cache, the generation service every completion route runs on,
// and the model's sampling defaults.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/batch_runner.h"
#include "engine/chat_format.h"
#include "engine/generate.h"
#include "kernels/kernel_table.h"
#include "model/model.h"
#include "server/generation_service.h"
#include "tokenizer/tokenizer.h"

namespace mx::server {

// What a loader hands the server: the weights and tokenizer (kept alive by `owner`), the
// kernels to run them with, the chat format and, if the loader has them, sampling defaults.
struct LoadedWeights {
  std::shared_ptr<void> owner;
  const Model* model = nullptr;
  const Tokenizer* tokenizer = nullptr;
  KernelTable kernels;
  std::optional<ChatFormat> format;  // required; optional only because ChatFormat has no empty state
  std::optional<GenerateOptions> defaults;
  DrafterFactory make_drafter = nullptr;  // speculative decoding for this model; null: none
};

// Members are destroyed bottom-up: the service and runner go before the weights they read.
struct ServedModel {
  std::shared_ptr<void> weights;
  const Model* model = nullptr;
  const Tokenizer* tokenizer = nullptr;
  std::string chat_template;  // the template's source (Ollama's /api/show)
  GenerateOptions defaults;   // sampling when a request does not say
  std::unique_ptr<BatchRunner> runner;
  std::unique_ptr<GenerationService> generation;
  int64_t memory_bytes = 0;  // file size + KV cache: what the registry's budget counts
};

// How the server runs every model it loads.
struct RunnerSettings {
  int64_t ctx_size = 0;  // per sequence; 0: the model's, at most 4096
  int32_t parallel = 4;
  int threads = 2;
  int64_t batch_size = 128;
  int64_t prefix_cache_tokens = 0;
  double timeout_seconds = 600;
  int64_t kv_tokens = 0;     // the sequences' KV cache in all, in positions (BatchRunnerOptions); 0: parallel × ctx
  KvCacheTypes cache_types;
  ForwardHook forward_hook = nullptr;  // wraps every forward pass (tests make steps fail); null in production
};

// The KV cache a model of `config` gets with `settings`, in bytes (what its runner will allocate).
int64_t kv_cache_bytes(const ModelConfig& config, const RunnerSettings& settings);
// File bytes (`file_bytes`, all shards) plus the KV cache of the model at `path`, read from its
// GGUF header without loading it; `file_bytes` alone if the header cannot be read.
int64_t estimate_memory(const std::string& path, int64_t file_bytes, const RunnerSettings& settings);

// Builds the runner and generation service of `w`. `metrics` and `admission` outlive it;
// `pin` (may be empty) is called by each generation to keep the model loaded until its reply ends.
std::shared_ptr<ServedModel> make_served_model(LoadedWeights w, const RunnerSettings& settings,
                                               GenerateOptions fallback_defaults, Metrics& metrics,
                                               Admission& admission, std::function<std::shared_ptr<void>()> pin);

}  // namespace mx::server
