#include "model/forge.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "kernels/kernel_table.h"
#include "model/exec_context.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "test_paths.h"

namespace mx {
namespace {

int64_t parameter_count(const ModelPreset& p) {
  int64_t n = 0;
  for (const auto& t : preset_tensors(p)) {
    int64_t e = 1;
    for (int64_t d : t.dims) e *= d;
    n += e;
  }
  return n;
}

// The presets copy real models: their parameter counts are the published ones (Qwen3-1.7B's
// model card: 1.7B, 1.4B without the tied embedding; Mistral 7B v0.3 with its 32768 vocabulary).
TEST(Presets, ParameterCountsMatchThePublishedModels) {
  const std::pair<const char*, int64_t> published[] = {
      {"qwen2.5-0.5b", 494'032'768},   {"qwen2.5-1.5b", 1'543'714'304}, {"qwen2.5-7b", 7'615'616'512},
      {"qwen3-0.6b", 596'049'920},     {"qwen3-1.7b", 1'720'574'976},   {"qwen3-8b", 8'190'735'360},
      {"llama-3.2-1b", 1'235'814'400}, {"llama-3.2-3b", 3'212'749'824}, {"llama-3.1-8b", 8'030'261'248},
      {"llama-2-7b", 6'738'415'616},   {"mistral-7b", 7'248'023'552},   {"mixtral-8x7b", 46'702'792'704},
  };
  for (const auto& [name, count] : published) {
    const auto p = find_preset(name);
    ASSERT_TRUE(p.has_value()) << name;
    EXPECT_EQ(parameter_count(*p), count) << name;
  }
  // Qwen3-30B-A3B's model card gives rounded counts: 30.5B, 29.9B without the embeddings.
  const auto qwen3moe = find_preset("qwen3-30b-a3b");
  ASSERT_TRUE(qwen3moe.has_value());
  const int64_t embeddings = 2 * qwen3moe->n_vocab * qwen3moe->n_embd;
  EXPECT_NEAR(parameter_count(*qwen3moe) / 1e9, 30.5, 0.05);
  EXPECT_NEAR((parameter_count(*qwen3moe) - embeddings) / 1e9, 29.9, 0.05);
  // gpt-oss-20b's model card: 20.91B parameters.
  const auto gpt_oss = find_preset("gpt-oss-20b");
  ASSERT_TRUE(gpt_oss.has_value());
  EXPECT_NEAR(parameter_count(*gpt_oss) / 1e9, 20.91, 0.01);
  EXPECT_EQ(model_presets().size(), std::size(published) + 2);
  EXPECT_FALSE(find_preset("gpt-5").has_value());
}

ModelPreset small_preset(std::string_view arch, bool tied) {
  return ModelPreset{"test", arch, 256, 2, 4, 2, 64, 512, 600, 512, 1e4, 1e-5, tied};
}

std::string forge_to_temp(const ModelPreset& p, GgmlType type, uint64_t seed, const std::string& tag) {
  const std::string path = ::testing::TempDir() + "moxing_forge_" + tag + "_" + std::to_string(::getpid()) + ".gguf";
  ForgeOptions o{.weight_type = [type](std::string_view, const std::vector<int64_t>&) { return type; },
                 .file_type = 2,
                 .seed = seed};
  const Status st = forge_model(p, o, path);
  EXPECT_TRUE(st.ok()) << st.error().message;
  return path;
}

// A forged file loads as the architecture it claims, with the preset's shapes, and runs.
TEST(Forge, WritesModelsThatLoadAndRun) {
  const KernelTable kernels = best_kernels(CpuFeatures::detect());
  for (const char* arch : {"llama", "qwen2", "qwen3"}) {
    for (GgmlType type : {GgmlType::kQ4_0, GgmlType::kQ8_0, GgmlType::kF16}) {
      SCOPED_TRACE(std::string(arch) + " " + std::string(type_name(type)));
      const ModelPreset p = small_preset(arch, std::string_view(arch) != "llama");
      const std::string path = forge_to_temp(p, type, 7, arch);
      auto model = Model::load(path, kernels);
      ASSERT_TRUE(model.ok()) << model.error().message;
      const ModelConfig& c = (*model)->config;
      EXPECT_EQ(c.arch.name, arch);
      EXPECT_EQ(c.n_embd, p.n_embd);
      EXPECT_EQ(c.n_layer, p.n_layer);
      EXPECT_EQ(c.n_head_kv, p.n_head_kv);
      EXPECT_EQ(c.n_vocab, p.n_vocab);
      EXPECT_EQ((*model)->n_params(), parameter_count(p));
      EXPECT_EQ((*model)->file.find_tensor("blk.1.ffn_down.weight")->type, type);
      EXPECT_EQ((*model)->file.find_tensor("blk.1.ffn_norm.weight")->type, GgmlType::kF32);

      ExecContext ctx(1, kernels);
      KvCache cache(c, 16);
      Batch batch;
      for (int i = 0; i < 4; ++i) batch.add(5 + i, i, 0, i == 3);
      std::vector<float> logits(c.n_vocab);
      ASSERT_TRUE(forward(**model, batch, cache, ctx, logits.data()).ok());
      for (float v : logits) ASSERT_TRUE(std::isfinite(v));
      std::remove(path.c_str());
    }
  }
}

// Mixture-of-experts presets forge 3-D expert tensors that load and run.
TEST(Forge, WritesMixtureOfExpertsModels) {
  const KernelTable kernels = best_kernels(CpuFeatures::detect());
  for (const char* arch : {"qwen3moe", "llama", "gpt-oss"}) {
    SCOPED_TRACE(arch);
    ModelPreset p = small_preset(arch, false);
    p.n_expert = 8, p.n_expert_used = 2, p.n_ff_exp = 128;
    if (std::string_view(arch) == "gpt-oss") p.n_swa = 4, p.yarn_factor = 32, p.yarn_orig_ctx = 16;
    const std::string path = forge_to_temp(p, GgmlType::kQ8_0, 3, arch);
    auto model = Model::load(path, kernels);
    ASSERT_TRUE(model.ok()) << model.error().message;
    EXPECT_EQ((*model)->config.n_expert, 8);
    EXPECT_EQ((*model)->config.n_ff_exp, 128);
    EXPECT_EQ((*model)->n_params(), parameter_count(p));
    const auto* down = (*model)->file.find_tensor("blk.1.ffn_down_exps.weight");
    ASSERT_NE(down, nullptr);
    EXPECT_EQ(down->dims, (std::vector<int64_t>{128, 256, 8}));
    if (const auto* bias = (*model)->file.find_tensor("blk.1.ffn_down_exps.bias"))
      EXPECT_EQ(bias->type, GgmlType::kF32);  // biases stay F32 whatever the weights' type
    ExecContext ctx(2, kernels);
    KvCache cache((*model)->config, 16);
    Batch batch;
    for (int i = 0; i < 6; ++i) batch.add(5 + i, i, 0, i == 5);
    std::vector<float> logits((*model)->config.n_vocab);
    ASSERT_TRUE(forward(**model, batch, cache, ctx, logits.data()).ok());
    for (float v : logits) ASSERT_TRUE(std::isfinite(v));
    std::remove(path.c_str());
  }
}

// What one token reads, for bench's GB/s: 2 of 8 experts' slices, everything else but an
// untied embedding (one row of it), which a tied one is not (it is the output too).
TEST(Forge, ActiveBytesCountTheChosenExpertsAndNotAnUntiedEmbedding) {
  for (const bool tied : {false, true}) {
    ModelPreset p = small_preset("qwen3moe", tied);
    p.n_expert = 8, p.n_expert_used = 2, p.n_ff_exp = 128;
    const std::string path = forge_to_temp(p, GgmlType::kQ8_0, 3, tied ? "active_tied" : "active");
    auto model = Model::load(path, reference_kernels());
    std::remove(path.c_str());
    ASSERT_TRUE(model.ok()) << model.error().message;
    double experts = 0, embedding = 0, rest = 0;
    for (const auto& t : (*model)->file.tensors())
      (t.name.ends_with("_exps.weight") ? experts : t.name == "token_embd.weight" ? embedding : rest) += t.n_bytes;
    EXPECT_DOUBLE_EQ((*model)->active_weight_bytes(), rest + experts / 4 + (tied ? embedding : 0)) << tied;
  }
}

TEST(Forge, SameSeedSameBytesOtherSeedOtherBytes) {
  const ModelPreset p = small_preset("llama", false);
  const std::string a = forge_to_temp(p, GgmlType::kQ4_0, 1, "a");
  const std::string b = forge_to_temp(p, GgmlType::kQ4_0, 1, "b");
  const std::string c = forge_to_temp(p, GgmlType::kQ4_0, 2, "c");
  EXPECT_EQ(test::read_text_file(a), test::read_text_file(b));
  EXPECT_NE(test::read_text_file(a), test::read_text_file(c));
  for (const auto& f : {a, b, c}) std::remove(f.c_str());
}

TEST(Forge, RefusesTypesThatDoNotFitTheRows) {
  ModelPreset p = small_preset("llama", true);
  p.n_embd = 96;  // not a multiple of the K-quant super-block
  p.head_dim = 24;
  ForgeOptions o{.weight_type = [](std::string_view, const std::vector<int64_t>&) { return GgmlType::kQ4_K; }};
  const Status st = forge_model(p, o, ::testing::TempDir() + "never_written.gguf");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("Q4_K"), std::string::npos) << st.error().message;
}

}  // namespace
}  // namespace mx
