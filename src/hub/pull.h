// A model by name or URL: found in the cache, or downloaded into it.
#pragma once

#include <string>
#include <vector>

#include "core/expected.h"
#include "hub/hub_settings.h"
#include "hub/model_ref.h"

namespace mx::hub {

struct PulledModel {
  std::string repo;                // "ORG/NAME"; for a plain URL, the URL
  std::string commit;
  std::string quant;
  std::vector<std::string> paths;  // snapshot (or URL cache) paths; the first shard first
  int downloaded = 0;              // files fetched from the network (0: all were cached)
};

// Without touching the network: the model as the cache has it (refs/<revision> -> snapshot).
Expected<PulledModel> find_cached(const ModelRef& ref, const HubSettings& settings);

// Asks the hub for the revision's commit and files, and downloads the chosen files that the
// cache lacks. With settings.offline, the same as find_cached.
Expected<PulledModel> pull_model(const ModelRef& ref, const HubSettings& settings);

// The path of a model for `-m`: an existing file as is; a name or URL -> the cached file
// (pulled first when it is not cached). For a split set, the first shard.
Expected<std::string> resolve_model(const std::string& arg, const HubSettings& settings);

}  // namespace mx::hub
