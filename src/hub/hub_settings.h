// Where the hub is and where its files are cached, read once from the environment the way
// huggingface_hub reads it, so both tools share one cache.
#pragma once

#include <string>

namespace mx::hub {

struct HubSettings {
  std::string cache_dir;                          // .../huggingface/hub
  std::string url_cache_dir;                      // .../moxing/urls: plain URL downloads (no repo, no commit)
  std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT (a mirror)
  std::string token;                              // HF_TOKEN, else the file `hf auth login` wrote
  bool offline = false;                           // HF_HUB_OFFLINE=1: never touch the network
  bool progress = true;                           // draw a progress bar (when stderr is a terminal)
};

// HF_HUB_CACHE > HF_HOME/hub > XDG_CACHE_HOME/huggingface/hub > ~/.cache/huggingface/hub.
// URL downloads are moxing's own, not huggingface_hub's, so they live apart from HF_HOME:
// MOXING_CACHE/urls > XDG_CACHE_HOME/moxing/urls > ~/.cache/moxing/urls.
HubSettings hub_settings_from_environment();

}  // namespace mx::hub
