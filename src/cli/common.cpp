#include "cli/common.h"

#include <cstdlib>
#include <thread>

#include "core/log.h"
#include "core/progress.h"

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

Expected<std::unique_ptr<Model>> load_model_with_progress(const std::string& path,
                                                          const KernelTable& kernels) {
  std::unique_ptr<ProgressBar> bar;
  auto model = Model::load(path, kernels, [&](uint64_t done, uint64_t total) {
    if (!bar) bar = std::make_unique<ProgressBar>("loading", total, /*bytes=*/true);
    bar->update(done);
  });
  if (bar) bar->finish();
  return model;
}

}  // namespace mx::cli
