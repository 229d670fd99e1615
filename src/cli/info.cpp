// `moxing info FILE`: what a GGUF file holds, without loading the model. Of a split model, the
// first shard shows the whole model and its shards; any other shard shows its own part.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

#include "cli/common.h"
#include "core/format.h"
#include "core/log.h"
#include "gguf/gguf_file.h"
#include "gguf/split.h"
#include "model/config.h"
#include "model/kv_cache.h"

namespace mx::cli {
namespace {

struct InfoOptions {
  std::string path;
  bool all_tensors = false;
  size_t max_items = 8;
};

// What will run: the architecture and the features the file asks for, so a user sees
// before loading whether experts, rope scaling or sliding windows are in play.
void print_model(const gguf::File& f) {
  auto config = ModelConfig::from_gguf(f);
  if (!config) {
    fmt::print("model:      not runnable by moxing: {}\n", config.error().message);
    return;
  }
  const ModelConfig& c = *config;
  fmt::print("model:      {} ({}), {} layers, {} wide, {} query / {} key-value heads of {}, trained on {} tokens\n",
             c.name, c.arch.name, c.n_layer, c.n_embd, c.n_head, c.n_head_kv, c.head_dim_k, c.n_ctx_train);
  std::vector<std::string> features;
  if (c.is_moe())
    features.push_back(fmt::format("mixture of experts: {} of {} experts per token, each {} wide{}{}", c.n_expert_used,
                                   c.n_expert, c.n_ff_exp, c.n_ff_shexp > 0 ? ", a shared expert" : "",
                                   c.arch.expert_biases ? ", router and expert biases" : ""));
  std::string rope = fmt::format("rope base {:.0f}", c.rope_freq_base);
  const bool global_only = c.n_swa > 0 && c.rope_freq_scale_swa != c.rope_freq_scale;
  if (c.rope_scaling == RopeScaling::kLongrope)
    rope += fmt::format(", long-rope (long factors when the context exceeds {} tokens)", c.n_ctx_orig);
  else if (c.rope_scaling == RopeScaling::kYarn)
    rope += fmt::format(", YaRN x{:g} beyond {} tokens", 1.0f / c.rope_freq_scale, c.n_ctx_orig);
  else if (c.rope_freq_scale != 1.0f)
    rope += fmt::format(", linear scaling x{:g}{}", 1.0f / c.rope_freq_scale, global_only ? " on global layers" : "");
  if (c.rope_attn_factor != 1.0f) rope += fmt::format(", magnitude {:g}", c.rope_attn_factor);
  if (f.find_tensor(tensor_name(TensorKind::kRopeFreqs))) rope += ", frequency factors (rope_freqs)";
  features.push_back(rope);
  if (c.n_swa > 0) {
    int64_t local = 0;
    for (int64_t il = 0; il < c.n_layer; ++il) local += c.is_swa_layer(il);
    features.push_back(fmt::format("sliding window of {} tokens on {} of {} layers", c.n_swa, local, c.n_layer));
  }
  if (c.arch.attn_sinks) features.push_back("attention sinks (a learned logit per head)");
  if (c.arch.activation == Activation::kSwigluOai) features.push_back("clamped SwiGLU (gpt-oss)");
  if (c.attn_softcap > 0 || c.final_softcap > 0)
    features.push_back(fmt::format("soft-capping: attention {:g}, output {:g}", c.attn_softcap, c.final_softcap));
  for (const auto& feature : features) fmt::print("            {}\n", feature);
  // What a long context costs, per cache type that fits the heads (--cache-type-k/-v).
  std::vector<std::string> per_type;
  for (GgmlType t : {GgmlType::kF16, GgmlType::kQ8_0, GgmlType::kQ4_0})
    if (check_kv_cache_types(c, {t, t}).ok())
      per_type.push_back(fmt::format("{} {}", format_bytes(1024 * kv_bytes_per_position(c, {t, t})), kv_cache_type_name(t)));
  fmt::print("kv cache:   per 1024 positions of context: {}\n", fmt::join(per_type, ", "));
}

// Where a shard stands in its set: a whole set lists its shards; a lone shard says which
// one it is and where the model opens.
void print_split(const gguf::File& f, const gguf::SplitInfo& split, const std::string& path) {
  if (f.shards().size() > 1) {
    fmt::print("split:      {} shards, {} tensors in all\n", f.shards().size(), split.n_tensors);
    for (const gguf::Shard& s : f.shards())
      fmt::print("            {}  {}, {} tensors\n", s.path, format_bytes(s.size), s.n_tensors);
    return;
  }
  fmt::print("split:      shard {} of {} ({} of the set's {} tensors)", split.no + 1, split.count, f.tensors().size(),
             split.n_tensors);
  const std::optional<std::string> prefix = gguf::shard_prefix(path, split.no, split.count);
  if (split.no > 0 && prefix) fmt::print("; the model opens from {}", gguf::shard_path(*prefix, 0, split.count));
  fmt::print("\n");
}

int run_info(const InfoOptions& o) {
  const Expected<std::string> resolved = resolve_model_argument(o.path);  // a file, or a name in the cache
  if (!resolved) {
    MX_LOG_ERROR("{}", resolved.error().message);
    return kExitBadModel;
  }
  const std::string& path = *resolved;
  auto file = gguf::File::open_single(path);
  if (!file) {
    MX_LOG_ERROR("{}", file.error().message);
    return kExitBadModel;
  }
  // The first shard of a split set shows the whole model; any other shard shows itself.
  std::optional<gguf::SplitInfo> split;
  std::string split_problem;
  if (auto info = gguf::read_split_info(*file); info)
    split = *info;
  else
    split_problem = info.error().message;
  if (split && split->no == 0 && split->count > 1) {
    if (auto whole = gguf::File::open(path); whole)
      file = std::move(*whole);
    else
      split_problem = whole.error().message;
  }
  const gguf::File& f = *file;
  uint64_t tensor_bytes = 0;
  int64_t params = 0;
  for (const auto& t : f.tensors()) {
    tensor_bytes += t.n_bytes;
    params += t.n_elements();
  }
  fmt::print("file:       {}\n", path);
  fmt::print("gguf:       version {}, alignment {}, {} metadata keys, {} tensors\n", f.version(),
             f.alignment(), f.metadata().size(), f.tensors().size());
  fmt::print("size:       {} ({} parameters, {} of tensor data)\n", format_bytes(f.file_size()),
             format_count(static_cast<double>(params)), format_bytes(tensor_bytes));
  if (split) print_split(f, *split, path);
  if (!split_problem.empty()) {
    fmt::print("split:      broken: {}\n", split_problem);
    MX_LOG_ERROR("{}", split_problem);
  }
  if (f.get_string("general.architecture") && f.find_tensor(tensor_name(TensorKind::kTokenEmbd))) print_model(f);
  fmt::print("\nmetadata:\n");
  for (const auto& kv : f.metadata())
    fmt::print("  {:<44} {:<7} {}\n", kv.key, gguf::value_type_name(kv.value.type()),
               kv.value.to_display_string(o.max_items));
  if (f.tensors().empty()) return split_problem.empty() ? kExitOk : kExitBadModel;
  fmt::print("\ntensors:\n  {:<36} {:<6} {:<22} {:>10}\n", "name", "type", "shape", "size");
  size_t shown = 0;
  for (const auto& t : f.tensors()) {
    if (!o.all_tensors && shown++ >= 40) {
      fmt::print("  ... {} more (use --all)\n", f.tensors().size() - 40);
      break;
    }
    fmt::print("  {:<36} {:<6} {:<22} {:>10}\n", t.name, type_name(t.type),
               fmt::format("[{}]", fmt::join(t.dims, ", ")), format_bytes(t.n_bytes));
  }
  return split_problem.empty() ? kExitOk : kExitBadModel;
}

}  // namespace

Runner add_info(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  app.add_option("file", o->path, "GGUF file")->required();
  app.add_flag("--all", o->all_tensors, "List every tensor");
  app.add_option("--max-items", o->max_items, "Array items to show per key")->capture_default_str();
  return [o] { return run_info(*o); };
}

}  // namespace mx::cli
