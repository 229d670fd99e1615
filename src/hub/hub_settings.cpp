#include "hub/hub_settings.h"

#include <cstdlib>
#include <fstream>

namespace mx::hub {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool truthy(const std::string& v) { return v == "1" || v == "true" || v == "TRUE" || v == "yes" || v == "ON"; }

std::string hf_home() {
  if (std::string h = env("HF_HOME"); !h.empty()) return h;
  if (std::string x = env("XDG_CACHE_HOME"); !x.empty()) return x + "/huggingface";
  return env("HOME") + "/.cache/huggingface";
}

// moxing's own files (not huggingface_hub's): MOXING_CACHE > XDG_CACHE_HOME/moxing > ~/.cache/moxing.
std::string moxing_cache() {
  if (std::string m = env("MOXING_CACHE"); !m.empty()) return m;
  if (std::string x = env("XDG_CACHE_HOME"); !x.empty()) return x + "/moxing";
  return env("HOME") + "/.cache/moxing";
}

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return token;
}

}  // namespace

HubSettings hub_settings_from_environment() {
  HubSettings s;
  s.cache_dir = env("HF_HUB_CACHE");
  if (s.cache_dir.empty()) s.cache_dir = env("HUGGINGFACE_HUB_CACHE");  // the older name
  if (s.cache_dir.empty()) s.cache_dir = hf_home() + "/hub";
  if (std::string e = env("HF_ENDPOINT"); !e.empty()) {
    while (!e.empty() && e.back() == '/') e.pop_back();
    s.endpoint = e;
  }
  s.url_cache_dir = moxing_cache() + "/urls";
  s.token = env("HF_TOKEN");
  if (s.token.empty()) {
    const std::string path = env("HF_TOKEN_PATH");
    s.token = read_token_file(path.empty() ? hf_home() + "/token" : path);
  }
  s.offline = truthy(env("HF_HUB_OFFLINE"));
  return s;
}

}  // namespace mx::hub
