// `moxing forge`: a full-size model of a real configuration with random weights, for
// benchmarks (`moxing bench`, or any engine that reads GGUF) when real weights are not at hand.
#include <optional>

#include <fmt/format.h>

#include "cli/common.h"
#include "core/format.h"
#include "core/log.h"
#include "core/progress.h"
#include "model/forge.h"
#include "model/presets.h"
#include "quant/quant.h"

namespace mx::cli {
namespace {

struct ForgeCliOptions {
  std::string preset;
  std::string type = "Q4_0";
  std::string out;
  uint64_t seed = 1;
  bool list = false;
};

// general.file_type values (llama_ftype) of the plain types.
uint32_t file_type_of(GgmlType t) {
  switch (t) {
    case GgmlType::kF32: return 0;
    case GgmlType::kF16: return 1;
    case GgmlType::kQ4_0: return 2;
    case GgmlType::kQ8_0: return 7;
    case GgmlType::kQ4_K: return 15;  // closest: Q4_K_M
    case GgmlType::kQ5_K: return 17;
    case GgmlType::kQ6_K: return 18;
    case GgmlType::kBF16: return 32;
    default: return 0;
  }
}

int run_forge(const ForgeCliOptions& o) {
  if (o.list) {
    for (const ModelPreset& p : model_presets())
      fmt::print("{:14} {:6} embd {:5} layers {:3} heads {:3}/{:<2} ffn {:6} vocab {:6}{}\n", p.name, p.arch,
                 p.n_embd, p.n_layer, p.n_head, p.n_head_kv, p.n_ff, p.n_vocab,
                 p.tied_embeddings ? " tied" : "");
    return kExitOk;
  }
  if (o.preset.empty() || o.out.empty()) {
    MX_LOG_ERROR("forge needs --preset NAME and an output file (presets: {})", preset_names());
    return kExitUsage;
  }
  const auto preset = find_preset(o.preset);
  if (!preset) {
    MX_LOG_ERROR("unknown preset '{}'; presets: {}", o.preset, preset_names());
    return kExitUsage;
  }
  const auto type = type_from_name(o.type);
  if (!type || !can_quantize(*type)) {
    MX_LOG_ERROR("cannot forge type '{}'", o.type);
    return kExitUsage;
  }
  std::optional<ProgressBar> bar;  // created once the total size is known
  ForgeOptions options{
      .weight_type = [&](std::string_view, const std::vector<int64_t>&) { return *type; },
      .file_type = file_type_of(*type),
      .seed = o.seed,
      .progress =
          [&](uint64_t done, uint64_t total) {
            if (!bar) bar.emplace(fmt::format("forging {} {}", preset->name, type_name(*type)), total, true);
            bar->update(done);
          },
  };
  if (auto st = forge_model(*preset, options, o.out); !st) {
    MX_LOG_ERROR("{}", st.error().message);
    return kExitFailure;
  }
  if (bar) bar->finish();
  MX_LOG_INFO("wrote {}: {} with random {} weights", o.out, preset->name, type_name(*type));
  return kExitOk;
}

}  // namespace

Runner add_forge(CLI::App& app) {
  auto o = std::make_shared<ForgeCliOptions>();
  app.add_option("--preset", o->preset, "Model configuration to copy: " + preset_names());
  app.add_option("--type", o->type, "Type of the weight matrices (F32, F16, BF16, Q8_0, Q4_0, ...)")
      ->capture_default_str();
  app.add_option("-s,--seed", o->seed, "Random seed (same seed, same file)")->capture_default_str();
  app.add_flag("--list", o->list, "List the presets");
  app.add_option("out", o->out, "Output GGUF file");
  return [o] { return run_forge(*o); };
}

}  // namespace mx::cli
