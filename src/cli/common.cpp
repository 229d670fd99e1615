#include "cli/common.h"

#include <cstdlib>
#include <thread>

#include "core/log.h"
#include "core/progress.h"
#include "hub/pull.h"

namespace mx::cli {

int default_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

KernelTable kernels_for_this_cpu() {
  CpuFeatures cpu = CpuFeatures::detect();
  if (const char* isa = std::getenv("MOXING_ISA")) cpu = cpu.limited_to(isa);
  KernelTable t = best_kernels(cpu);
  MX_LOG_DEBUG("cpu: {}; kernels: {}", cpu.describe(), t.isa);
  return t;
}

Expected<std::string> resolve_model_argument(const std::string& arg) {
  hub::HubSettings settings = hub::hub_settings_from_environment();
  settings.progress = log_level() <= LogLevel::kInfo;  // -q: no progress line either
  return hub::resolve_model(arg, settings);
}

Expected<LoadedModel> load_model(const std::string& arg, bool with_tokenizer) {
  std::string path;
  MX_TRY_ASSIGN(path, resolve_model_argument(arg));
  LoadedModel loaded{kernels_for_this_cpu(), nullptr, nullptr};
  std::unique_ptr<ProgressBar> bar;
  auto model = Model::load(path, loaded.kernels, [&](uint64_t done, uint64_t total) {
    if (!bar) bar = std::make_unique<ProgressBar>("loading", total, /*bytes=*/true);
    bar->update(done);
  });
  if (bar) bar->finish();
  if (!model) return model.error();
  loaded.model = std::move(*model);
  if (with_tokenizer) {
    auto tokenizer = Tokenizer::from_gguf(loaded.model->file);
    if (!tokenizer) return tokenizer.error();
    loaded.tokenizer = std::move(*tokenizer);
  }
  return loaded;
}

std::optional<LoadedModel> load_model_for_cli(const std::string& arg, bool with_tokenizer) {
  auto loaded = load_model(arg, with_tokenizer);
  if (!loaded) {
    MX_LOG_ERROR("{}", loaded.error().message);
    return std::nullopt;
  }
  return std::move(*loaded);
}

}  // namespace mx::cli
