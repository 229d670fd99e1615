// Mixture-of-experts models: what the golden tests cannot show — batch and thread
// invariance of the grouped expert products, and clear errors for files whose expert
// metadata and tensors disagree.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "gguf_edit.h"
#include "model/forward.h"
#include "prompt_logits.h"
#include "test_paths.h"

namespace mx {
namespace {

const std::string kQwen3Moe = "models/tiny/tiny-qwen3moe-Q8_0.gguf";

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

TEST(Moe, BatchedPromptEqualsTokenByTokenAndThreadsDoNotMatter) {
  auto m = Model::load(test::shared_path(kQwen3Moe), best_kernels(CpuFeatures::detect()));
  ASSERT_TRUE(m.ok()) << m.error().message;
  const std::vector<Token> ids = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 290, 301, 350, 17, 88};
  const auto whole = test::prompt_logits(**m, ids, 64, 1);
  // Each row is its own Q8_0 activation block either way, so the products agree exactly.
  EXPECT_EQ(max_abs_diff(whole, test::prompt_logits(**m, ids, 1, 1)), 0.0f);
  EXPECT_EQ(max_abs_diff(whole, test::prompt_logits(**m, ids, 4, 2)), 0.0f);
  EXPECT_EQ(max_abs_diff(whole, test::prompt_logits(**m, ids, 64, 2)), 0.0f);
}

class MoeBadFile : public ::testing::Test {
 protected:
  // The load error of the tiny qwen3moe file after `edit`.
  std::string load_error(const test::GgufEdit& edit) {
    const std::string path = test::temp_path("moe_edited.gguf");
    EXPECT_TRUE(test::write_edited(test::shared_path(kQwen3Moe), edit, path).ok());
    auto m = Model::load(path, reference_kernels());
    std::filesystem::remove(path);
    return m.ok() ? std::string("(loaded)") : m.error().message;
  }
};

TEST_F(MoeBadFile, UnchangedCopyLoads) { EXPECT_EQ(load_error({}), "(loaded)"); }

TEST_F(MoeBadFile, MoreExpertsUsedThanThereAre) {
  const auto e = load_error(test::GgufEdit{}.with("qwen3moe.expert_used_count", {uint32_t{9}}));
  EXPECT_NE(e.find("'qwen3moe.expert_used_count' is 9 but the model has only 8 experts"), std::string::npos) << e;
}

TEST_F(MoeBadFile, ExpertCountDisagreesWithTensors) {
  const auto e = load_error(test::GgufEdit{}.with("qwen3moe.expert_count", {uint32_t{4}}));
  EXPECT_NE(e.find("ffn_gate_inp.weight' has shape [256, 8], expected [256, 4]"), std::string::npos) << e;
}

TEST_F(MoeBadFile, ExpertTensorOfAnotherShape) {
  test::GgufEdit edit;
  edit.reshape["blk.1.ffn_up_exps.weight"] = {256, 512, 4};
  const auto e = load_error(edit);
  EXPECT_NE(e.find("'blk.1.ffn_up_exps.weight' has shape [256, 512, 4], expected [256, 256, 8]"),
            std::string::npos) << e;
}

TEST_F(MoeBadFile, MissingRouter) {
  test::GgufEdit edit;
  edit.drop_tensors = {"blk.0.ffn_gate_inp.weight"};
  EXPECT_NE(load_error(edit).find("missing tensor 'blk.0.ffn_gate_inp.weight'"), std::string::npos);
}

TEST_F(MoeBadFile, NoExpertCount) {
  test::GgufEdit edit;
  edit.erase = {"qwen3moe.expert_count"};
  EXPECT_NE(load_error(edit).find("needs metadata key 'qwen3moe.expert_count'"), std::string::npos);
}

TEST_F(MoeBadFile, RoutingKeysNotImplementedAreRefusedByName) {
  for (auto [key, value] : {std::pair{"qwen3moe.expert_gating_func", gguf::Value{uint32_t{2}}},
                            std::pair{"qwen3moe.expert_shared_count", gguf::Value{uint32_t{1}}},
                            std::pair{"qwen3moe.expert_weights_scale", gguf::Value{2.5f}},
                            std::pair{"qwen3moe.expert_weights_norm", gguf::Value{false}}}) {
    const auto e = load_error(test::GgufEdit{}.with(key, value));
    EXPECT_NE(e.find(std::string("'") + key + "'"), std::string::npos) << e;
  }
  // The values llama.cpp applies for this architecture anyway are accepted.
  EXPECT_EQ(load_error(test::GgufEdit{}
                           .with("qwen3moe.expert_gating_func", {uint32_t{1}})
                           .with("qwen3moe.expert_weights_norm", {true})
                           .with("qwen3moe.expert_weights_scale", {1.0f})),
            "(loaded)");
}

}  // namespace
}  // namespace mx
