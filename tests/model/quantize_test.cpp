// `quantize` and the tensor mixes: the sizes llama.cpp's files have, the bytes its
// quantize writes, and quantized tiny models as accurate as the reference's.
#include "model/quantize.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "gguf/gguf_file.h"
#include "kernels/kernel_table.h"
#include "model/exec_context.h"
#include "model/forge.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "test_paths.h"

namespace mx {
namespace {

using enum GgmlType;

QuantMix mix_for(const ModelPreset& p, std::string_view file_type, bool pure = false) {
  return QuantMix(*find_file_type(file_type),
                  {.n_layer = p.n_layer, .n_gqa = p.n_head / p.n_head_kv, .has_output = !p.tied_embeddings}, pure);
}

uint64_t planned_bytes(const ModelPreset& p, const QuantMix& mix) {
  uint64_t bytes = 0;
  for (const ForgedTensor& t : preset_tensors(p)) {
    int64_t n = 1;
    for (int64_t d : t.dims) n *= d;
    const GgmlType type = QuantMix::is_weight_matrix(t.name, t.dims) ? mix.choose(t.name, t.dims).type : kF32;
    bytes += row_size(type, n);
  }
  return bytes;
}

// llama-bench's model_size of llama.cpp's files of these configurations (GiB, 3 decimals).
TEST(QuantMix, SizesMatchLlamaCppFiles) {
  const struct {
    const char* preset;
    const char* type;
    double gib;
  } files[] = {
      {"qwen2.5-0.5b", "Q4_0", 0.322},   {"qwen2.5-0.5b", "Q4_K_M", 0.365}, {"qwen2.5-0.5b", "Q8_0", 0.489},
      {"qwen2.5-0.5b", "F16", 0.920},    {"llama-3.2-1b", "Q4_0", 0.711},   {"llama-3.2-1b", "Q4_K_M", 0.745},
      {"llama-3.2-1b", "Q8_0", 1.223},   {"llama-3.2-1b", "F16", 2.302},
  };
  for (const auto& f : files) {
    const ModelPreset p = *find_preset(f.preset);
    const double gib = static_cast<double>(planned_bytes(p, mix_for(p, f.type))) / (1ULL << 30);
    EXPECT_NEAR(gib, f.gib, 0.0006) << f.preset << " " << f.type;
  }
}

TEST(QuantMix, Q4_K_MGivesSensitiveLayersMoreBits) {
  const ModelPreset llama = *find_preset("llama-3.2-1b");  // 16 layers, rows of 2048 and 8192
  const QuantMix mix = mix_for(llama, "Q4_K_M");
  auto type_of = [&](const std::string& name, int64_t ne0) { return mix.choose(name, {ne0, 512}).type; };
  // First and last eighth and every third layer between: 0, 1, 4, 7, 10, 13, 14, 15.
  for (int l = 0; l < 16; ++l) {
    const bool more = l < 2 || l >= 14 || (l - 2) % 3 == 2;
    EXPECT_EQ(type_of("blk." + std::to_string(l) + ".attn_v.weight", 2048), more ? kQ6_K : kQ4_K) << l;
    EXPECT_EQ(type_of("blk." + std::to_string(l) + ".ffn_down.weight", 8192), more ? kQ6_K : kQ4_K) << l;
    EXPECT_EQ(type_of("blk." + std::to_string(l) + ".attn_q.weight", 2048), kQ4_K) << l;
  }
  EXPECT_EQ(type_of("token_embd.weight", 2048), kQ6_K);  // tied: it is also the classifier

  // Qwen2.5-0.5B's rows of 896 do not fit 256-element blocks: Q4_K falls back to Q5_0,
  // Q6_K to Q8_0; ffn_down's rows of 4864 do fit.
  const ModelPreset qwen = *find_preset("qwen2.5-0.5b");
  const QuantMix qmix = mix_for(qwen, "Q4_K_M");
  const TensorChoice q = qmix.choose("blk.3.attn_q.weight", {896, 896});
  EXPECT_EQ(q.type, kQ5_0);
  EXPECT_EQ(q.wanted, kQ4_K);
  EXPECT_EQ(qmix.choose("blk.0.attn_v.weight", {896, 128}).type, kQ8_0);
  EXPECT_EQ(qmix.choose("blk.0.ffn_down.weight", {4864, 896}).type, kQ6_K);
  EXPECT_EQ(qmix.choose("blk.3.ffn_down.weight", {4864, 896}).type, kQ4_K);  // 24 layers: 0-2 get more
  EXPECT_EQ(qmix.choose("token_embd.weight", {896, 151936}).type, kQ8_0);
}

TEST(QuantMix, PureAndFloatTypesAreUniform) {
  const ModelPreset llama = *find_preset("llama-3.2-1b");
  for (const char* name : {"blk.0.attn_v.weight", "token_embd.weight", "blk.15.ffn_down.weight"}) {
    EXPECT_EQ(mix_for(llama, "Q4_K_M", true).choose(name, {2048, 8}).type, kQ4_K) << name;
    EXPECT_EQ(mix_for(llama, "F16").choose(name, {2048, 8}).type, kF16) << name;
  }
  // 32-element types on rows they do not divide keep 16-bit floats.
  EXPECT_EQ(mix_for(llama, "Q8_0", true).choose("blk.0.ffn_down.weight", {172, 64}).type, kF16);
  EXPECT_FALSE(QuantMix::is_weight_matrix("blk.0.attn_norm.weight", {2048}));
  EXPECT_FALSE(QuantMix::is_weight_matrix("blk.0.ffn_gate_inp.weight", {2048, 8}));
  EXPECT_TRUE(QuantMix::is_weight_matrix("blk.0.ffn_up_exps.weight", {2048, 512, 8}));
  EXPECT_EQ(find_file_type("q4_k")->id, FileType::kQ4_K_M);
  EXPECT_EQ(find_file_type("q3_k")->id, FileType::kQ3_K_M);
  EXPECT_FALSE(find_file_type("IQ2_XXS").has_value());  // needs an importance matrix
}

TEST(QuantMix, LowBitMixes) {
  const ModelPreset llama = *find_preset("llama-3.2-1b");  // 16 layers, 4 query heads per kv head
  auto type_of = [&](std::string_view ft, const std::string& name) {
    return mix_for(llama, ft).choose(name, {2048, 512}).type;
  };
  for (int l = 0; l < 16; ++l) {
    const std::string blk = "blk." + std::to_string(l) + ".";
    EXPECT_EQ(type_of("Q2_K", blk + "attn_v.weight"), kQ4_K) << l;  // grouped-query: small attn_v
    EXPECT_EQ(type_of("Q2_K", blk + "ffn_down.weight"), kQ3_K) << l;
    EXPECT_EQ(type_of("Q2_K", blk + "attn_output.weight"), kQ3_K) << l;
    EXPECT_EQ(type_of("Q2_K", blk + "ffn_up.weight"), kQ2_K) << l;
    EXPECT_EQ(type_of("Q3_K_M", blk + "attn_v.weight"), l < 2 ? kQ5_K : kQ4_K) << l;
    EXPECT_EQ(type_of("Q3_K_M", blk + "ffn_down.weight"), l < 1 ? kQ5_K : kQ4_K) << l;
    EXPECT_EQ(type_of("Q3_K_M", blk + "attn_q.weight"), kQ3_K) << l;
    EXPECT_EQ(type_of("Q3_K_L", blk + "ffn_down.weight"), kQ5_K) << l;
    EXPECT_EQ(type_of("Q3_K_S", blk + "ffn_down.weight"), kQ3_K) << l;
    EXPECT_EQ(type_of("IQ4_NL", blk + "attn_v.weight"), kQ5_K) << l;
    EXPECT_EQ(type_of("IQ4_NL", blk + "ffn_down.weight"), l < 2 ? kQ5_K : kIQ4_NL) << l;
  }
  EXPECT_EQ(type_of("Q2_K", "token_embd.weight"), kQ6_K);  // tied: also the classifier
  // Rows of 896 (Qwen2.5-0.5B) fit no 256-element block: Q2_K and Q3_K fall back to IQ4_NL.
  const ModelPreset qwen = *find_preset("qwen2.5-0.5b");
  EXPECT_EQ(mix_for(qwen, "Q3_K_S").choose("blk.3.attn_q.weight", {896, 896}).type, kIQ4_NL);
  EXPECT_EQ(mix_for(qwen, "Q2_K").choose("blk.3.ffn_up.weight", {896, 4864}).type, kIQ4_NL);
}

struct TempFile {
  std::string path = "/tmp/moxing-quantize-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + ".gguf";
  ~TempFile() { std::remove(path.c_str()); }
  static inline int counter = 0;
};

QuantizeOptions options_for(std::string_view type, bool pure = false) {
  return QuantizeOptions{.file_type = *find_file_type(type), .pure = pure, .n_threads = 2};
}

// ../shared's stories260K-F16 and -Q8_0 were written by llama-quantize from stories260K
// (F32; Q8_0 with --tensor-type ffn_down=f16, as its rows of 172 fit no 32-element block).
TEST(Quantize, SameTensorBytesAsLlamaQuantize) {
  for (const char* type : {"F16", "Q8_0"}) {
    TempFile out;
    auto report = quantize_model(test::shared_path("models/stories260K.gguf"), out.path, options_for(type));
    ASSERT_TRUE(report.ok()) << report.error().message;
    auto mine = gguf::File::open(out.path);
    auto theirs = gguf::File::open(test::shared_path(std::string("models/stories260K-") + type + ".gguf"));
    ASSERT_TRUE(mine.ok() && theirs.ok());
    ASSERT_EQ(mine->tensors().size(), theirs->tensors().size());
    for (const gguf::TensorInfo& t : theirs->tensors()) {
      const gguf::TensorInfo* m = mine->find_tensor(t.name);
      ASSERT_NE(m, nullptr) << t.name;
      EXPECT_EQ(m->type, t.type) << t.name;
      ASSERT_EQ(m->n_bytes, t.n_bytes) << t.name;
      EXPECT_TRUE(std::equal(t.data, t.data + t.n_bytes, m->data)) << t.name;
    }
    EXPECT_EQ(mine->get_int("general.file_type"), static_cast<int64_t>(find_file_type(type)->id));
    EXPECT_EQ(mine->get_string("tokenizer.ggml.model"), theirs->get_string("tokenizer.ggml.model"));
  }
}

// A mixture-of-experts model (3-D expert tensors, an F32 router, the mixes' expert rules):
// the whole file moxing writes is the one llama-quantize (34af94cd) wrote from the same
// input, byte for byte. Digests are FNV-1a 64 of llama-quantize's files.
TEST(Quantize, MixtureOfExpertsFileIsLlamaQuantizesByteForByte) {
  const std::pair<const char*, uint64_t> reference[] = {
      {"Q4_K_M", 0x3b6cae5112ee16cfULL}, {"Q2_K", 0x03106fe9eb96dc15ULL}, {"Q3_K_M", 0x601ebcf921c48116ULL},
      {"Q4_0", 0xfaf7a78d997a5c05ULL},   {"Q5_K_M", 0x7c581f14f2ff949bULL}, {"Q6_K", 0xc8f204acd9d739f1ULL},
      {"Q8_0", 0xd313f8207e630454ULL},   {"IQ4_NL", 0xff0758c006785be4ULL}, {"MXFP4_MOE", 0x4f53ae2e745be7b8ULL},
  };
  for (const auto& [type, digest] : reference) {
    TempFile out;
    auto report = quantize_model(test::shared_path("models/tiny/tiny-qwen3moe-F16.gguf"), out.path, options_for(type));
    ASSERT_TRUE(report.ok()) << report.error().message;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : test::read_text_file(out.path)) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
    EXPECT_EQ(h, digest) << type;
  }
}

TEST(Quantize, RefusesToRequantizeUnlessAsked) {
  TempFile out;
  const std::string q8 = test::shared_path("models/stories260K-Q8_0.gguf");
  auto refused = quantize_model(q8, out.path, options_for("Q4_0"));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("--allow-requantize"), std::string::npos);
  QuantizeOptions o = options_for("Q4_0");
  o.allow_requantize = true;
  EXPECT_TRUE(quantize_model(q8, out.path, o).ok());
}

TEST(Quantize, BadInputIsAnErrorAndWritesNothing) {
  TempFile in, out;
  {
    const std::string full = test::read_text_file(test::shared_path("models/stories260K.gguf"));
    std::ofstream(in.path, std::ios::binary) << full.substr(0, full.size() / 2);
  }
  auto r = quantize_model(in.path, out.path, options_for("Q8_0"));
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(std::ifstream(out.path).good());
}

// Prompt logits of a model on the first prompt of a golden directory.
std::vector<float> prompt_logits(const std::string& model_path, const nlohmann::json& prompt) {
  const KernelTable kernels = best_kernels(CpuFeatures::detect());
  auto model = Model::load(model_path, kernels);
  EXPECT_TRUE(model.ok()) << model.error().message;
  if (!model.ok()) return {};
  const Model& m = **model;
  const std::vector<Token> ids = prompt["prompt_token_ids"];
  ExecContext ctx(2, kernels);
  KvCache cache(m.config, 512, 1, 0, 0, {GgmlType::kF32, GgmlType::kF32});  // as the goldens were made
  std::vector<float> logits(ids.size() * m.config.n_vocab);
  Batch batch;
  for (size_t i = 0; i < ids.size(); ++i) batch.add(ids[i], static_cast<int32_t>(i), 0, true);
  EXPECT_TRUE(forward(m, batch, cache, ctx, logits.data()).ok());
  return logits;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::fabs(double(a[i]) - b[i]));
  return d;
}

// The tiny models quantized here lose no more accuracy than llama-quantize's files of the
// same type: both measured against the F16 model's reference logits. (Theirs were made from
// the F32 masters, ours from F16, so the bytes differ slightly; the error must not.)
TEST(Quantize, TinyModelsAsAccurateAsTheReferenceQuantization) {
  for (const char* model : {"tiny-qwen2", "tiny-llama3-gqa", "tiny-qwen3", "tiny-llama-mha"}) {
    std::ifstream in(test::shared_path(std::string("golden/") + model + "-F16/manifest.json"));
    const auto manifest = nlohmann::json::parse(in);
    const auto& prompt = manifest["prompts"][0];
    const auto f16_logits = test::read_f32_file(test::shared_path(std::string("golden/") + model + "-F16/" +
                                                                  prompt["logits_file"].get<std::string>()));
    for (const char* type : {"Q8_0", "Q6_K", "Q5_K", "Q4_K", "Q4_0"}) {
      TempFile out;
      const std::string src = test::shared_path(std::string("models/tiny/") + model + "-F16.gguf");
      ASSERT_TRUE(quantize_model(src, out.path, options_for(type, true)).ok());
      const double ours = max_abs_diff(prompt_logits(out.path, prompt), f16_logits);
      const double theirs = max_abs_diff(
          prompt_logits(test::shared_path(std::string("models/tiny/") + model + "-" + type + ".gguf"), prompt),
          f16_logits);
      std::printf("[quantize] %-16s %-5s max|d| vs F16: moxing %.4f  llama-quantize %.4f\n", model, type, ours, theirs);
      EXPECT_LT(ours, 1.25 * theirs + 0.02) << model << " " << type;
      EXPECT_GT(ours, 0.0) << model << " " << type;
    }
  }
}

// Types with no reference files (Q2_K, Q3_K, IQ4_NL): the quantized model's logits equal
// those of the same weights dequantized to F32 up to activation rounding (so the kernels
// and the model read the blocks as their dequantization defines them), and the loss
// against F16 grows as the bits per weight fall (measured: IQ4_NL 0.42-0.53, Q3_K
// 0.77, Q2_K 1.20-1.23 max|d|; against the dequantized weights 0.03-0.045).
TEST(Quantize, TinyModelsInLowBitTypes) {
  for (const char* model : {"tiny-qwen2", "tiny-llama3-gqa"}) {
    std::ifstream in(test::shared_path(std::string("golden/") + model + "-F16/manifest.json"));
    const auto manifest = nlohmann::json::parse(in);
    const auto& prompt = manifest["prompts"][0];
    const auto f16_logits = test::read_f32_file(test::shared_path(std::string("golden/") + model + "-F16/" +
                                                                  prompt["logits_file"].get<std::string>()));
    const std::string src = test::shared_path(std::string("models/tiny/") + model + "-F16.gguf");
    double previous = 0;
    for (const char* type : {"IQ4_NL", "Q3_K_S", "Q2_K"}) {  // fewer bits each
      TempFile quantized, dequantized;
      ASSERT_TRUE(quantize_model(src, quantized.path, options_for(type, true)).ok());
      QuantizeOptions back = options_for("F32");
      back.allow_requantize = true;
      ASSERT_TRUE(quantize_model(quantized.path, dequantized.path, back).ok());
      auto file = gguf::File::open(quantized.path);
      ASSERT_TRUE(file.ok());
      EXPECT_EQ(file->find_tensor("blk.0.ffn_up.weight")->type, find_file_type(type)->base) << model << " " << type;
      const auto logits = prompt_logits(quantized.path, prompt);
      const double vs_f32 = max_abs_diff(logits, prompt_logits(dequantized.path, prompt));
      const double vs_f16 = max_abs_diff(logits, f16_logits);
      std::printf("[quantize] %-16s %-6s max|d| vs its F32: %.4f  vs F16: %.4f\n", model, type, vs_f32, vs_f16);
      EXPECT_LT(vs_f32, 0.25 * vs_f16) << model << " " << type;
      EXPECT_GT(vs_f16, previous) << model << " " << type;
      previous = vs_f16;
    }
  }
}

}  // namespace
}  // namespace mx
