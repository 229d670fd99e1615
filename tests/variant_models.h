// Models with the rope variants real files carry (Llama 3 frequency factors, YaRN, linear
// scaling, Phi-3 long-rope, Gemma 3's scaled global layers) and architectures ../shared has
// no file of (qwen2moe), made from the tiny models in ../shared by adding the metadata and
// tensors such a file has. The reference's logits for
// each are in tests/model/golden/<name>/ (docs/goldens.md says how they were made); the
// golden test writes the variant afresh and compares.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "gguf_edit.h"
#include "model/quantize.h"
#include "test_paths.h"

namespace mx::test {

struct VariantModel {
  std::string name;  // file stem; tests/model/golden/<name>*/ hold its goldens
  std::string base;  // the file under ../shared/models/tiny it is made from
  GgufEdit edit;
  std::string quantize_to = {};  // then converted to this file type (moxing quantize, which
                                 // writes llama-quantize's bytes), if not empty
};

// Llama 3.1's rope factors (the converter's formula) for a head of `dim` with the given base,
// as if the model had been trained on `original_context` positions.
inline std::vector<float> llama3_rope_factors(int dim, double base, double factor, double original_context) {
  const double low_freq_factor = 1.0, high_freq_factor = 4.0;
  const double low_wavelen = original_context / low_freq_factor, high_wavelen = original_context / high_freq_factor;
  std::vector<float> out;
  for (int i = 0; i < dim; i += 2) {
    const double wavelen = 2 * M_PI * std::pow(base, static_cast<double>(i) / dim);
    if (wavelen < high_wavelen) {
      out.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      out.push_back(static_cast<float>(factor));
    } else {
      const double smooth = (original_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
      out.push_back(static_cast<float>(1.0 / ((1 - smooth) / factor + smooth)));
    }
  }
  return out;
}

// Phi-3-style long-rope factors: 1 for the fastest pairs, growing smoothly to `top`.
inline std::vector<float> longrope_factors(int n_pairs, float top) {
  std::vector<float> out;
  for (int i = 0; i < n_pairs; ++i)
    out.push_back(1.0f + (top - 1.0f) * static_cast<float>(i * i) / static_cast<float>((n_pairs - 1) * (n_pairs - 1)));
  return out;
}

// gpt-oss made of tiny-qwen3moe: the keys renamed, q/k norms dropped, the FFN norm under
// gpt-oss's name (post_attention_norm), 4 of 8 experts, a sliding window of 16 on even
// layers, YaRN x32 from 128 positions (gpt-oss's own scaling, 4096 -> 131072, scaled down),
// and the tensors gpt-oss adds drawn from a seeded generator: attention sinks, q/k/v/o
// biases, router and expert biases.
inline GgufEdit gpt_oss_edit() {
  GgufEdit e;
  e.rename_prefix = {"qwen3moe.", "gpt-oss."};
  e.with("general.architecture", {std::string("gpt-oss")})
      .with("gpt-oss.context_length", {uint32_t{4096}})
      .with("gpt-oss.expert_used_count", {uint32_t{4}})
      .with("gpt-oss.attention.sliding_window", {uint32_t{16}})
      .with("gpt-oss.rope.freq_base", {150000.0f})
      .with("gpt-oss.rope.scaling.type", {std::string("yarn")})
      .with("gpt-oss.rope.scaling.factor", {32.0f})
      .with("gpt-oss.rope.scaling.original_context_length", {uint32_t{128}});
  uint64_t seed = 100;
  for (int l = 0; l < 2; ++l) {
    const std::string blk = "blk." + std::to_string(l) + ".";
    e.drop_tensors.insert(e.drop_tensors.end(), {blk + "attn_q_norm.weight", blk + "attn_k_norm.weight"});
    e.rename_tensors[blk + "ffn_norm.weight"] = blk + "post_attention_norm.weight";
    e.add_tensors.push_back(random_tensor(blk + "attn_q.bias", {256}, GgmlType::kF32, 0.1f, seed++));
    e.add_tensors.push_back(random_tensor(blk + "attn_k.bias", {128}, GgmlType::kF32, 0.1f, seed++));
    e.add_tensors.push_back(random_tensor(blk + "attn_v.bias", {128}, GgmlType::kF32, 0.05f, seed++));
    e.add_tensors.push_back(random_tensor(blk + "attn_output.bias", {256}, GgmlType::kF32, 0.05f, seed++));
    e.add_tensors.push_back(random_tensor(blk + "attn_sinks.weight", {4}, GgmlType::kF32, 1.0f, seed++));
    e.add_tensors.push_back(random_tensor(blk + "ffn_gate_inp.bias", {8}, GgmlType::kF32, 0.5f, seed++));
    e.add_tensors.push_back(random_tensor(blk + "ffn_gate_exps.bias", {256, 8}, GgmlType::kF32, 0.1f, seed++));
    e.add_tensors.push_back(random_tensor(blk + "ffn_up_exps.bias", {256, 8}, GgmlType::kF32, 0.1f, seed++));
    e.add_tensors.push_back(random_tensor(blk + "ffn_down_exps.bias", {256, 8}, GgmlType::kF32, 0.05f, seed++));
  }
  return e;
}

inline std::vector<VariantModel> variant_models() {
  std::vector<VariantModel> v;
  {  // Llama 3.1: rope_freqs.weight, no scaling type (the converter writes none)
    GgufEdit e;
    e.add_tensors.push_back({"rope_freqs.weight", GgmlType::kF32, {16},
                             f32_bytes(llama3_rope_factors(32, 500000.0, 8.0, 256.0))});
    v.push_back({"tiny-llama3-gqa-F16-rope-freqs", "tiny-llama3-gqa-F16.gguf", std::move(e)});
  }
  {  // Qwen2.5 with YaRN enabled, trained context 512 of 2048
    GgufEdit e;
    e.with("qwen2.rope.scaling.type", {std::string("yarn")})
        .with("qwen2.rope.scaling.factor", {4.0f})
        .with("qwen2.rope.scaling.original_context_length", {uint32_t{512}});
    v.push_back({"tiny-qwen2-F16-yarn", "tiny-qwen2-F16.gguf", std::move(e)});
  }
  {  // linear position interpolation (rope.scaling.type = linear)
    GgufEdit e;
    e.with("llama.rope.scaling.type", {std::string("linear")}).with("llama.rope.scaling.factor", {2.0f});
    v.push_back({"tiny-llama-mha-F16-linear", "tiny-llama-mha-F16.gguf", std::move(e)});
  }
  {  // Phi-3.5 long-rope: short factors up to 512 positions of context, long ones beyond
    GgufEdit e;
    e.with("phi3.rope.scaling.type", {std::string("longrope")})
        .with("phi3.rope.scaling.attn_factor", {1.1902f})
        .with("phi3.rope.scaling.original_context_length", {uint32_t{512}});
    e.add_tensors.push_back({"rope_factors_long.weight", GgmlType::kF32, {32}, f32_bytes(longrope_factors(32, 8.0f))});
    e.add_tensors.push_back({"rope_factors_short.weight", GgmlType::kF32, {32}, f32_bytes(longrope_factors(32, 1.5f))});
    v.push_back({"tiny-phi3-F16-longrope", "tiny-phi3-F16.gguf", std::move(e)});
  }
  {  // Gemma 3 (4B and up): linear scaling 8 on the global layers only
    GgufEdit e;
    e.with("gemma3.rope.scaling.type", {std::string("linear")}).with("gemma3.rope.scaling.factor", {8.0f});
    v.push_back({"tiny-gemma3-F16-linear", "tiny-gemma3-F16.gguf", std::move(e)});
  }
  {  // Qwen1.5-MoE / Qwen2-57B-A14B: tiny-qwen3moe's experts with q/k/v biases instead of
     // q/k norms, and a shared expert of 512 gated by a sigmoid; top-k not renormalised
    GgufEdit e;
    e.rename_prefix = {"qwen3moe.", "qwen2moe."};
    e.with("general.architecture", {std::string("qwen2moe")})
        .with("qwen2moe.expert_shared_feed_forward_length", {uint32_t{512}});
    uint64_t seed = 2;
    for (int l = 0; l < 2; ++l) {
      const std::string blk = "blk." + std::to_string(l) + ".";
      e.drop_tensors.insert(e.drop_tensors.end(), {blk + "attn_q_norm.weight", blk + "attn_k_norm.weight"});
      e.add_tensors.push_back(random_tensor(blk + "attn_q.bias", {256}, GgmlType::kF32, 0.1f, seed++));
      e.add_tensors.push_back(random_tensor(blk + "attn_k.bias", {128}, GgmlType::kF32, 0.1f, seed++));
      e.add_tensors.push_back(random_tensor(blk + "attn_v.bias", {128}, GgmlType::kF32, 0.05f, seed++));
      e.add_tensors.push_back(random_tensor(blk + "ffn_gate_inp_shexp.weight", {256}, GgmlType::kF32, 0.2f, seed++));
      e.add_tensors.push_back(random_tensor(blk + "ffn_gate_shexp.weight", {256, 512}, GgmlType::kF16, 0.05f, seed++));
      e.add_tensors.push_back(random_tensor(blk + "ffn_up_shexp.weight", {256, 512}, GgmlType::kF16, 0.05f, seed++));
      e.add_tensors.push_back(random_tensor(blk + "ffn_down_shexp.weight", {512, 256}, GgmlType::kF16, 0.05f, seed++));
    }
    v.push_back({"tiny-qwen2moe-F16", "tiny-qwen3moe-F16.gguf", std::move(e)});
  }
  // gpt-oss's expert format: tiny-qwen3moe with MXFP4 experts, the rest Q8_0
  v.push_back({"tiny-qwen3moe-MXFP4_MOE", "tiny-qwen3moe-F16.gguf", {}, "MXFP4_MOE"});
  // gpt-oss, in F16 and in its own format (experts MXFP4, the rest Q8_0)
  v.push_back({"tiny-gpt-oss-F16", "tiny-qwen3moe-F16.gguf", gpt_oss_edit()});
  v.push_back({"tiny-gpt-oss-MXFP4_MOE", "tiny-qwen3moe-F16.gguf", gpt_oss_edit(), "MXFP4_MOE"});
  return v;
}

// Writes a variant to `path`: the edited copy of its base, quantized if it asks.
inline Status write_variant(const VariantModel& m, const std::string& path) {
  if (m.quantize_to.empty()) return write_edited(shared_path("models/tiny/" + m.base), m.edit, path);
  const std::string edited = path + ".edited.gguf";
  if (auto st = write_edited(shared_path("models/tiny/" + m.base), m.edit, edited); !st) return st;
  auto report = quantize_model(edited, path, QuantizeOptions{.file_type = *find_file_type(m.quantize_to), .n_threads = 2});
  std::remove(edited.c_str());
  if (!report) return report.error();
  return {};
}

}  // namespace mx::test
