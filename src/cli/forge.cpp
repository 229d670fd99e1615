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
#include "model/quant_mix.h"
#include "quant/quant.h"

namespace mx::cli {
namespace {

struct ForgeCliOptions {
  std::string preset;
  std::string type = "Q4_0";
  std::string out;
  uint64_t seed = 1;
  bool list = false;
  bool pure = false;
};

int run_forge(const ForgeCliOptions& o) {
  if (o.list) {
    for (const ModelPreset& p : model_presets())
      fmt::print("{:14} {:8} embd {:5} layers {:3} heads {:3}/{:<2} ffn {:6} vocab {:6}{}{}\n", p.name, p.arch,
                 p.n_embd, p.n_layer, p.n_head, p.n_head_kv, p.n_expert ? p.n_ff_exp : p.n_ff, p.n_vocab,
                 p.tied_embeddings ? " tied" : "",
                 p.n_expert ? fmt::format(" experts {}/{}", p.n_expert_used, p.n_expert) : "");
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
  const auto file_type = find_file_type(o.type);
  if (!file_type) {
    MX_LOG_ERROR("cannot forge type '{}'; types: {}", o.type, file_type_names());
    return kExitUsage;
  }
  // The same tensor mix `moxing quantize` gives a real model of this shape.
  const MixShape shape{.n_layer = preset->n_layer,
                       .n_expert = preset->n_expert,
                       .n_gqa = preset->n_head / preset->n_head_kv,
                       .has_output = !preset->tied_embeddings};
  const QuantMix mix(*file_type, shape, o.pure);
  std::optional<ProgressBar> bar;  // created once the total size is known
  ForgeOptions options{
      .weight_type = [&](std::string_view name, const std::vector<int64_t>& dims) {
        // Routers and the like stay F32, as quantize keeps them.
        return QuantMix::is_weight_matrix(name, dims) ? mix.choose(name, dims).type : GgmlType::kF32;
      },
      .file_type = static_cast<uint32_t>(file_type->id),
      .seed = o.seed,
      .progress =
          [&](uint64_t done, uint64_t total) {
            if (!bar) bar.emplace(fmt::format("forging {} {}", preset->name, file_type->name), total, true);
            bar->update(done);
          },
  };
  if (auto st = forge_model(*preset, options, o.out); !st) {
    MX_LOG_ERROR("{}", st.error().message);
    return kExitFailure;
  }
  if (bar) bar->finish();
  MX_LOG_INFO("wrote {}: {} with random {} weights", o.out, preset->name, file_type->name);
  return kExitOk;
}

}  // namespace

Runner add_forge(CLI::App& app) {
  auto o = std::make_shared<ForgeCliOptions>();
  app.add_option("--preset", o->preset, "Model configuration to copy: " + preset_names());
  app.add_option("--type", o->type, "File type, with the tensor mix `quantize` uses: " + file_type_names())
      ->capture_default_str();
  app.add_flag("--pure", o->pure, "Every weight matrix gets the base type (no mix)");
  app.add_option("-s,--seed", o->seed, "Random seed (same seed, same file)")->capture_default_str();
  app.add_flag("--list", o->list, "List the presets");
  app.add_option("out", o->out, "Output GGUF file");
  return [o] { return run_forge(*o); };
}

}  // namespace mx::cli
