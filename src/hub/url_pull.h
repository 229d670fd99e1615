// A GGUF file by plain URL (any server, as llama.cpp's -mu): found in the URL cache, or
// downloaded into it with the hub's machinery (resume, lock, progress, sha256 while writing).
#pragma once

#include "core/expected.h"
#include "hub/hub_settings.h"
#include "hub/model_ref.h"
#include "hub/pull.h"

namespace mx::hub {

// Without touching the network: the file (every shard of a split set) if the cache has it.
Expected<PulledModel> find_cached_url(const ModelRef& ref, const HubSettings& settings);

// Downloads what the cache lacks. HF_TOKEN goes only to the hub's own host (HF_ENDPOINT).
Expected<PulledModel> pull_url(const ModelRef& ref, const HubSettings& settings);

}  // namespace mx::hub
