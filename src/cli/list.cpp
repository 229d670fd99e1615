// moxing list: the GGUF models in the Hugging Face cache and those pulled by URL, with their
// architecture and size.
#include <fmt/format.h>

#include "cli/common.h"
#include "core/format.h"
#include "gguf/gguf_file.h"
#include "hub/hub_cache.h"
#include "hub/hub_settings.h"
#include "hub/url_cache.h"

namespace mx::cli {
namespace {

struct ListOptions {
  bool paths = false;
};

std::string architecture_of(const std::string& path) {
  auto file = gguf::File::open(path);
  if (!file) return "?";
  return file->get_string("general.architecture").value_or("?");
}

int run_list(const ListOptions& o) {
  const hub::HubSettings settings = hub::hub_settings_from_environment();
  const hub::HubCache cache(settings.cache_dir);
  std::vector<hub::CachedModel> models = cache.list();
  for (hub::CachedModel& m : hub::UrlCache(settings.url_cache_dir).list()) models.push_back(std::move(m));
  if (models.empty()) {
    fmt::print(stderr, "no models in {} or {}\n", settings.cache_dir, settings.url_cache_dir);
    return kExitOk;
  }
  size_t width = 4;
  for (const auto& m : models) width = std::max(width, m.name().size());
  fmt::print("{:<{}}  {:<10}  {:<12}  {:>10}{}\n", "NAME", width, "QUANT", "ARCH", "SIZE", o.paths ? "  PATH" : "");
  for (const auto& m : models) {
    fmt::print("{:<{}}  {:<10}  {:<12}  {:>10}{}\n", m.name(), width, m.quant, architecture_of(m.files.front()),
               format_bytes(m.size), o.paths ? "  " + m.files.front() : "");
  }
  return kExitOk;
}

}  // namespace

Runner add_list(CLI::App& app) {
  auto o = std::make_shared<ListOptions>();
  app.add_flag("--paths", o->paths, "Show the path of each model's (first) file");
  app.footer(
      "Lists every GGUF model in the Hugging Face cache, including those huggingface_hub downloaded, and the "
      "files pulled by URL (named by their URL).");
  return [o] { return run_list(*o); };
}

}  // namespace mx::cli
