// gpt-oss (tests/variant_models.h's tiny one; its logits are checked in golden_test.cpp):
// what the goldens cannot show. Each piece gpt-oss adds is required, so a file without
// one is refused by name rather than run as another model; batches and threads give the
// same logits as token-by-token decoding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "gguf_edit.h"
#include "model/forward.h"
#include "prompt_logits.h"
#include "test_paths.h"
#include "variant_models.h"

namespace mx {
namespace {

// The tiny gpt-oss file in F16, after `edit`, loaded (the files are removed again; the
// mapping stays valid).
Expected<std::unique_ptr<Model>> load_edited(const test::GgufEdit& edit, const KernelTable& kernels) {
  const std::string base = test::temp_path("gpt_oss_base.gguf"), path = test::temp_path("gpt_oss_edited.gguf");
  for (const auto& v : test::variant_models())
    if (v.name == "tiny-gpt-oss-F16") EXPECT_TRUE(test::write_variant(v, base).ok());
  EXPECT_TRUE(test::write_edited(base, edit, path).ok());
  auto m = Model::load(path, kernels);
  std::filesystem::remove(base);
  std::filesystem::remove(path);
  return m;
}

std::string load_error(const test::GgufEdit& edit) {
  auto m = load_edited(edit, reference_kernels());
  return m.ok() ? std::string("(loaded)") : m.error().message;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(GptOssBadFile, UnchangedCopyLoads) { EXPECT_EQ(load_error({}), "(loaded)"); }

TEST(GptOssBadFile, EachOfItsTensorsIsRequired) {
  for (const char* name : {"blk.1.attn_sinks.weight", "blk.0.ffn_gate_inp.bias", "blk.1.ffn_gate_exps.bias",
                           "blk.0.ffn_up_exps.bias", "blk.1.ffn_down_exps.bias", "blk.0.post_attention_norm.weight",
                           "output.weight"}) {
    test::GgufEdit edit;
    edit.drop_tensors.push_back(name);
    const auto e = load_error(edit);
    EXPECT_TRUE(has(e, std::string("missing tensor '") + name + "'")) << e;
  }
}

TEST(GptOssBadFile, ExpertBiasOfAnotherShape) {
  test::GgufEdit edit;
  edit.reshape["blk.0.ffn_down_exps.bias"] = {512, 4};
  const auto e = load_error(edit);
  EXPECT_TRUE(has(e, "'blk.0.ffn_down_exps.bias' is F32 [512, 4], expected F32 [256, 8]")) << e;
}

TEST(GptOssBadFile, SinksOfAnotherCount) {
  test::GgufEdit edit;
  edit.reshape["blk.0.attn_sinks.weight"] = {2, 2};
  const auto e = load_error(edit);
  EXPECT_TRUE(has(e, "'blk.0.attn_sinks.weight' is F32 [2, 2], expected F32 [4]")) << e;
}

TEST(GptOssBadFile, SlidingWindowIsRequired) {
  const auto e = load_error(test::GgufEdit{.erase = {"gpt-oss.attention.sliding_window"}});
  EXPECT_TRUE(has(e, "'gpt-oss' models need metadata key 'gpt-oss.attention.sliding_window'")) << e;
}

TEST(GptOssBadFile, AnFfnNormOfAnotherArchitectureIsUnknown) {
  test::GgufEdit edit;
  edit.add_tensors.push_back(test::random_tensor("blk.0.ffn_norm.weight", {256}, GgmlType::kF32, 1.0f, 1));
  const auto e = load_error(edit);
  EXPECT_TRUE(has(e, "tensor 'blk.0.ffn_norm.weight' is not part of moxing's 'gpt-oss' model")) << e;
}

TEST(GptOssBadFile, ExpertWidthIsRequired) {
  const auto e = load_error(test::GgufEdit{.erase = {"gpt-oss.expert_feed_forward_length"}});
  EXPECT_TRUE(has(e, "'gpt-oss' models need metadata key 'gpt-oss.expert_feed_forward_length'")) << e;
}

// MXFP4 expert tensors cut short: rows that are not whole 32-value blocks, and a file that
// ends inside a block of the last expert tensor.
TEST(GptOssBadFile, TruncatedMxfp4Blocks) {
  const std::string base = test::temp_path("gpt_oss_mxfp4.gguf"), cut = test::temp_path("gpt_oss_cut.gguf");
  for (const auto& v : test::variant_models())
    if (v.name == "tiny-gpt-oss-MXFP4_MOE") ASSERT_TRUE(test::write_variant(v, base).ok());
  {  // the writer refuses such a tensor, so its ne[0] is patched in the header: name, n_dims, dims
    std::string bytes = test::read_text_file(base);
    const std::string name = "blk.1.ffn_up_exps.weight";
    const size_t at = bytes.find(name);
    ASSERT_NE(at, std::string::npos);
    const uint64_t ne0 = 240;  // rows of 7.5 blocks
    std::memcpy(&bytes[at + name.size() + sizeof(uint32_t)], &ne0, sizeof(ne0));
    std::ofstream(cut, std::ios::binary) << bytes;
    auto m = Model::load(cut, reference_kernels());
    ASSERT_FALSE(m.ok());
    EXPECT_TRUE(has(m.error().message, "not a multiple of the MXFP4 block size 32")) << m.error().message;
  }
  auto file = gguf::File::open(base);
  ASSERT_TRUE(file.ok());
  const gguf::TensorInfo* last = nullptr;
  for (const auto& t : file->tensors())
    if (t.type == GgmlType::kMXFP4 && (!last || t.offset > last->offset)) last = &t;
  ASSERT_NE(last, nullptr);
  std::filesystem::copy_file(base, cut, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(cut, file->data_offset() + last->offset + 17 * 100 + 5);  // inside block 100
  auto m = Model::load(cut, reference_kernels());
  std::filesystem::remove(base);
  std::filesystem::remove(cut);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(has(m.error().message, "tensor '" + last->name + "'")) << m.error().message;
  EXPECT_TRUE(has(m.error().message, "runs past the end of the file")) << m.error().message;
}

TEST(GptOss, LocalAndGlobalLayersAlternate) {
  auto m = load_edited({}, reference_kernels());
  ASSERT_TRUE(m.ok()) << m.error().message;
  const ModelConfig& c = (*m)->config;
  EXPECT_EQ(c.n_swa, 16);
  EXPECT_TRUE(c.is_swa_layer(0));
  EXPECT_FALSE(c.is_swa_layer(1));
  EXPECT_FLOAT_EQ(c.rope_base(0), 150000.0f);  // local layers rotate as the global ones
  EXPECT_FLOAT_EQ(c.rope_scale(0), 1.0f / 32);
  EXPECT_FLOAT_EQ(c.attn_scale, 0.125f);        // 1/sqrt(n_rot)
}

TEST(GptOss, BatchedPromptEqualsTokenByTokenAndThreadsDoNotMatter) {
  auto m = load_edited({}, best_kernels(CpuFeatures::detect()));
  ASSERT_TRUE(m.ok()) << m.error().message;
  // 40 tokens: past the sliding window of 16.
  std::vector<Token> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(static_cast<Token>(3 + (i * 37) % 500));
  const auto whole = test::prompt_logits(**m, ids, 64, 1);
  for (const auto& [rows, threads] : {std::pair{1, 1}, {5, 2}, {64, 2}}) {
    const auto other = test::prompt_logits(**m, ids, rows, threads);
    float d = 0;
    for (size_t i = 0; i < whole.size(); ++i) d = std::max(d, std::fabs(whole[i] - other[i]));
    EXPECT_EQ(d, 0.0f) << rows << " rows per batch, " << threads << " threads";
  }
}

}  // namespace
}  // namespace mx
