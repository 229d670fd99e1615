// moxing pull: download a model by name from the Hugging Face hub into the shared cache, or a
// GGUF file by URL from any server into moxing's URL cache.
#include <fmt/format.h>

#include "cli/common.h"
#include "core/format.h"
#include "core/log.h"
#include "hub/pull.h"

namespace mx::cli {
namespace {

struct PullOptions {
  std::string name;
};

int run_pull(const PullOptions& o) {
  auto ref = hub::parse_model_ref(o.name);
  if (!ref) {
    MX_LOG_ERROR("{}", ref.error().message);
    return kExitUsage;
  }
  if (ref->kind == hub::ModelRef::Kind::kLocalPath) {
    MX_LOG_ERROR("'{}' is a file path, not a model name ORG/REPO[:QUANT] or a URL", o.name);
    return kExitUsage;
  }
  hub::HubSettings settings = hub::hub_settings_from_environment();
  settings.progress = log_level() <= LogLevel::kInfo;  // -q: no progress line either
  auto pulled = hub::pull_model(*ref, settings);
  if (!pulled) {
    MX_LOG_ERROR("{}", pulled.error().message);
    return kExitFailure;
  }
  const std::string name = ref->kind == hub::ModelRef::Kind::kUrl ? ref->url : pulled->repo + ":" + pulled->quant;
  MX_LOG_INFO("{} {} ({} file{}, {} downloaded)", name,
              pulled->downloaded ? "pulled" : "is up to date", pulled->paths.size(),
              pulled->paths.size() == 1 ? "" : "s", pulled->downloaded);
  fmt::print("{}\n", pulled->paths.front());  // the path, for scripts
  return kExitOk;
}

}  // namespace

Runner add_pull(CLI::App& app) {
  auto o = std::make_shared<PullOptions>();
  app.add_option("name", o->name,
                 "ORG/REPO[:QUANT] (Q4_K_M when no quantization is named), hf.co/ORG/REPO:QUANT, the URL "
                 "of a GGUF file of a repo, or the URL of a .gguf file on any server")
      ->required();
  app.footer(
      "Files go to the Hugging Face cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub), "
      "shared with huggingface_hub. HF_TOKEN: token for gated or private repos. HF_ENDPOINT: a mirror. "
      "HF_HUB_OFFLINE=1: never use the network. Other URLs go to MOXING_CACHE/urls (else "
      "~/.cache/moxing/urls); HF_TOKEN is sent only to the hub. A URL of shard 1 of a split set fetches every "
      "shard. Prints the path of the (first) file.");
  return [o] { return run_pull(*o); };
}

}  // namespace mx::cli
