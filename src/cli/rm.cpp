// moxing rm: remove a model from the Hugging Face cache (its files and the blobs no other
// snapshot uses), or a file pulled by URL from the URL cache.
#include <fmt/format.h>

#include "cli/common.h"
#include "core/log.h"
#include "hub/hub_cache.h"
#include "hub/hub_settings.h"
#include "hub/model_ref.h"
#include "hub/url_cache.h"

namespace mx::cli {
namespace {

struct RmOptions {
  std::vector<std::string> names;
};

int run_rm(const RmOptions& o) {
  const hub::HubSettings settings = hub::hub_settings_from_environment();
  const hub::HubCache cache(settings.cache_dir);
  int status = kExitOk;
  for (const std::string& name : o.names) {
    auto ref = hub::parse_model_ref(name);
    if (ref && ref->kind == hub::ModelRef::Kind::kUrl) {
      if (Status s = hub::UrlCache(settings.url_cache_dir).remove(ref->url); !s) {
        MX_LOG_ERROR("{}", s.error().message);
        status = kExitFailure;
      } else {
        MX_LOG_INFO("removed {}", ref->url);
      }
      continue;
    }
    if (!ref || ref->kind != hub::ModelRef::Kind::kRepo) {
      MX_LOG_ERROR("'{}' is not a model name ORG/REPO[:QUANT] or a URL", name);
      status = kExitUsage;
      continue;
    }
    auto removed = cache.remove(ref->repo, ref->quant);
    if (!removed) {
      MX_LOG_ERROR("{}", removed.error().message);
      status = kExitFailure;
      continue;
    }
    MX_LOG_INFO("removed {} ({} model{})", ref->display_name(), *removed, *removed == 1 ? "" : "s");
  }
  return status;
}

}  // namespace

Runner add_rm(CLI::App& app) {
  auto o = std::make_shared<RmOptions>();
  app.add_option("names", o->names, "ORG/REPO:QUANT (one quantization), ORG/REPO (all of the repo), or a URL as pulled")
      ->required();
  return [o] { return run_rm(*o); };
}

}  // namespace mx::cli
