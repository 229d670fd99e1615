#include "model/forge.h"

#include <cstring>

#include <fmt/format.h>

#include "core/rng.h"
#include "gguf/gguf_writer.h"
#include "model/arch.h"
#include "quant/quant.h"

namespace mx {
namespace {

constexpr int64_t kRowPool = 64;  // distinct rows per tensor

int64_t element_count(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

uint64_t name_hash(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  return h;
}

// A sentencepiece-style vocabulary of the preset's size: <unk>, <s>, </s>, 256 byte tokens,
// then "▁t<i>". Every engine can load it; text from a random model is noise anyway.
void add_vocabulary(gguf::Writer& w, int64_t n_vocab) {
  gguf::Array tokens{gguf::ValueType::kString, {}}, scores{gguf::ValueType::kF32, {}},
      types{gguf::ValueType::kI32, {}};
  auto add = [&](std::string text, int32_t type) {
    tokens.items.push_back({std::move(text)});
    scores.items.push_back({-static_cast<float>(scores.items.size())});
    types.items.push_back({type});
  };
  add("<unk>", 2);
  add("<s>", 3);
  add("</s>", 3);
  for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), 6);
  while (static_cast<int64_t>(tokens.items.size()) < n_vocab)
    add(fmt::format("\xE2\x96\x81t{}", tokens.items.size()), 1);
  w.set("tokenizer.ggml.model", {std::string("llama")});
  w.set("tokenizer.ggml.tokens", {std::move(tokens)});
  w.set("tokenizer.ggml.scores", {std::move(scores)});
  w.set("tokenizer.ggml.token_type", {std::move(types)});
  w.set("tokenizer.ggml.unknown_token_id", {uint32_t{0}});
  w.set("tokenizer.ggml.bos_token_id", {uint32_t{1}});
  w.set("tokenizer.ggml.eos_token_id", {uint32_t{2}});
  w.set("tokenizer.ggml.add_bos_token", {true});
}

void add_hparams(gguf::Writer& w, const ModelPreset& p, uint32_t file_type) {
  const std::string_view a = p.arch;
  w.set("general.architecture", {std::string(a)});
  w.set("general.name", {fmt::format("{} (random weights, moxing forge)", p.name)});
  w.set("general.file_type", {file_type});
  w.set("general.quantization_version", {uint32_t{2}});
  auto u32 = [&](Key k, int64_t v) { w.set(key_name(k, a), {static_cast<uint32_t>(v)}); };
  u32(Key::kContextLength, p.n_ctx_train);
  u32(Key::kEmbeddingLength, p.n_embd);
  u32(Key::kBlockCount, p.n_layer);
  u32(Key::kFeedForwardLength, p.n_ff);
  u32(Key::kHeadCount, p.n_head);
  u32(Key::kHeadCountKv, p.n_head_kv);
  if (p.head_dim * p.n_head != p.n_embd) {
    u32(Key::kKeyLength, p.head_dim);
    u32(Key::kValueLength, p.head_dim);
  }
  if (p.n_expert > 0) {
    u32(Key::kExpertCount, p.n_expert);
    u32(Key::kExpertUsedCount, p.n_expert_used);
    // Written unless the architecture takes the experts' width from feed_forward_length.
    if (!find_arch(a)->experts_use_ff_length || p.n_ff_exp != p.n_ff) u32(Key::kExpertFeedForwardLength, p.n_ff_exp);
  }
  if (p.n_swa > 0) u32(Key::kSlidingWindow, p.n_swa);
  if (p.yarn_factor > 0) {
    w.set(key_name(Key::kRopeScalingType, a), {std::string("yarn")});
    w.set(key_name(Key::kRopeScalingFactor, a), {static_cast<float>(p.yarn_factor)});
    u32(Key::kRopeScalingOrigContext, p.yarn_orig_ctx);
  }
  w.set(key_name(Key::kRmsEps, a), {static_cast<float>(p.rms_eps)});
  w.set(key_name(Key::kRopeFreqBase, a), {static_cast<float>(p.rope_freq_base)});
}

// Values a trained model's tensors roughly have: weights small around zero, norms near one.
float random_value(Rng& rng, bool is_norm) {
  const float u = static_cast<float>(rng.uniform()) * 2.0f - 1.0f;
  return is_norm ? 1.0f + 0.1f * u : 0.05f * u;
}

gguf::Writer::Producer make_producer(const ForgedTensor& t, GgmlType type, uint64_t seed) {
  return [t, type, seed](std::span<uint8_t> out) {
    const int64_t row_len = t.dims[0];
    const int64_t n_rows = static_cast<int64_t>(out.size() / row_size(type, row_len));
    const int64_t pool_rows = std::min(n_rows, kRowPool);
    const size_t row_bytes = row_size(type, row_len);
    const bool is_norm = t.name.find("norm") != std::string::npos;
    Rng rng(seed ^ name_hash(t.name));
    std::vector<float> values(static_cast<size_t>(row_len));
    std::vector<uint8_t> pool(static_cast<size_t>(pool_rows) * row_bytes);
    for (int64_t r = 0; r < pool_rows; ++r) {
      for (float& v : values) v = random_value(rng, is_norm);
      quantize_row(type, values.data(), pool.data() + r * row_bytes, row_len);
    }
    for (int64_t r = 0; r < n_rows; ++r) {
      const int64_t from = static_cast<int64_t>((static_cast<uint64_t>(r) * 2654435761ULL) % pool_rows);
      std::memcpy(out.data() + r * row_bytes, pool.data() + from * row_bytes, row_bytes);
    }
  };
}

}  // namespace

std::vector<ForgedTensor> preset_tensors(const ModelPreset& p) {
  const ArchSpec arch = *find_arch(p.arch);
  const int64_t q_dim = p.n_head * p.head_dim, kv_dim = p.n_head_kv * p.head_dim;
  std::vector<ForgedTensor> out;
  auto add = [&](TensorKind kind, int layer, std::vector<int64_t> dims) {
    out.push_back({tensor_name(kind, layer), std::move(dims)});
  };
  add(TensorKind::kTokenEmbd, -1, {p.n_embd, p.n_vocab});
  for (int l = 0; l < p.n_layer; ++l) {
    add(TensorKind::kAttnNorm, l, {p.n_embd});
    add(TensorKind::kAttnQ, l, {p.n_embd, q_dim});
    add(TensorKind::kAttnK, l, {p.n_embd, kv_dim});
    add(TensorKind::kAttnV, l, {p.n_embd, kv_dim});
    if (arch.qkv_bias || arch.attn_sinks) {
      add(TensorKind::kAttnQBias, l, {q_dim});
      add(TensorKind::kAttnKBias, l, {kv_dim});
      add(TensorKind::kAttnVBias, l, {kv_dim});
    }
    if (arch.qk_norm) {
      add(TensorKind::kAttnQNorm, l, {p.head_dim});
      add(TensorKind::kAttnKNorm, l, {p.head_dim});
    }
    add(TensorKind::kAttnOut, l, {q_dim, p.n_embd});
    if (arch.attn_sinks) {  // gpt-oss: sinks and an output bias
      add(TensorKind::kAttnSinks, l, {p.n_head});
      add(TensorKind::kAttnOutBias, l, {p.n_embd});
    }
    add(arch.ffn_norm_is_post_attention ? TensorKind::kAttnPostNorm : TensorKind::kFfnNorm, l, {p.n_embd});
    if (p.n_expert > 0) {
      add(TensorKind::kFfnGateInp, l, {p.n_embd, p.n_expert});
      add(TensorKind::kFfnGateExps, l, {p.n_embd, p.n_ff_exp, p.n_expert});
      add(TensorKind::kFfnUpExps, l, {p.n_embd, p.n_ff_exp, p.n_expert});
      add(TensorKind::kFfnDownExps, l, {p.n_ff_exp, p.n_embd, p.n_expert});
      if (arch.expert_biases) {
        add(TensorKind::kFfnGateInpBias, l, {p.n_expert});
        add(TensorKind::kFfnGateExpsBias, l, {p.n_ff_exp, p.n_expert});
        add(TensorKind::kFfnUpExpsBias, l, {p.n_ff_exp, p.n_expert});
        add(TensorKind::kFfnDownExpsBias, l, {p.n_embd, p.n_expert});
      }
      continue;
    }
    add(TensorKind::kFfnGate, l, {p.n_embd, p.n_ff});
    add(TensorKind::kFfnUp, l, {p.n_embd, p.n_ff});
    add(TensorKind::kFfnDown, l, {p.n_ff, p.n_embd});
  }
  add(TensorKind::kOutputNorm, -1, {p.n_embd});
  if (!p.tied_embeddings) add(TensorKind::kOutput, -1, {p.n_embd, p.n_vocab});
  return out;
}

Status forge_model(const ModelPreset& preset, const ForgeOptions& options, const std::string& path) {
  if (!find_arch(preset.arch)) return make_error("preset {}: unknown architecture {}", preset.name, preset.arch);
  gguf::Writer w;
  add_hparams(w, preset, options.file_type);
  add_vocabulary(w, preset.n_vocab);
  uint64_t total = 0;
  std::vector<std::pair<ForgedTensor, GgmlType>> plan;
  for (ForgedTensor& t : preset_tensors(preset)) {
    // Vectors and biases are F32, as converters write them; matrices as asked.
    const bool is_matrix = t.dims.size() > 1 && t.name.ends_with(".weight");
    const GgmlType type = is_matrix ? options.weight_type(t.name, t.dims) : GgmlType::kF32;
    if (!can_quantize(type)) return make_error("{}: cannot write type {}", t.name, type_name(type));
    if (t.dims[0] % traits(type).block_size != 0)
      return make_error("{}: rows of {} cannot be stored as {} (blocks of {})", t.name, t.dims[0],
                        type_name(type), traits(type).block_size);
    total += row_size(type, element_count(t.dims));
    plan.emplace_back(std::move(t), type);
  }
  uint64_t done = 0;
  for (auto& [t, type] : plan) {
    w.add_tensor(t.name, type, t.dims,
                 [&, produce = make_producer(t, type, options.seed)](std::span<uint8_t> out) {
                   produce(out);
                   done += out.size();
                   if (options.progress) options.progress(done, total);
                 });
  }
  return w.write_file(path);
}

}  // namespace mx
