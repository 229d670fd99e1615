// Properties of the forward pass that hold whatever the weights: batch invariance,
// thread-count invariance, and clear errors for rows that cannot be computed.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "gguf_edit.h"
#include "model/forward.h"
#include "test_paths.h"

namespace mx {
namespace {

class ForwardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = Model::load(test::shared_path("models/tiny/tiny-qwen2-Q8_0.gguf"), kernels_);
    ASSERT_TRUE(m.ok()) << m.error().message;
    model_ = std::move(*m);
  }
  std::vector<Token> prompt() const { return {1, 403, 407, 261, 378, 432, 383, 286, 261, 376}; }

  KernelTable kernels_ = best_kernels(CpuFeatures::detect());
  std::unique_ptr<Model> model_;
};

float max_abs_diff(const float* a, const float* b, int64_t n) {
  float d = 0;
  for (int64_t i = 0; i < n; ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

TEST_F(ForwardTest, OneBatchEqualsTokenByToken) {
  const int64_t nv = model_->config.n_vocab;
  const auto ids = prompt();
  ExecContext ctx(2, kernels_);
  KvCache batched(model_->config, 64), stepped(model_->config, 64);
  std::vector<float> all(ids.size() * nv), one(nv);
  Batch b;
  for (size_t i = 0; i < ids.size(); ++i) b.add(ids[i], static_cast<int32_t>(i), 0, true);
  ASSERT_TRUE(forward(*model_, b, batched, ctx, all.data()).ok());
  for (size_t i = 0; i < ids.size(); ++i) {
    Batch s;
    s.add(ids[i], static_cast<int32_t>(i), 0, true);
    ASSERT_TRUE(forward(*model_, s, stepped, ctx, one.data()).ok());
    // Packed kernels compute a row the same way for any number of tokens: bit for bit.
    // Unpacked ones tile one token and many differently, so float sums differ in the last
    // bits; an activation that then rounds to the other neighbouring 8-bit value moves
    // logits by ~1e-3 (logit std 0.3).
    const float tolerance = kernels_[GgmlType::kQ8_0].gemm_packed ? 0.0f : 1e-2f;
    EXPECT_LE(max_abs_diff(one.data(), &all[i * nv], nv), tolerance) << "position " << i;
  }
}

TEST_F(ForwardTest, SequencesInOneBatchDoNotSeeEachOther) {
  const int64_t nv = model_->config.n_vocab;
  const std::vector<Token> a = {1, 403, 407, 261}, c = {1, 274, 287, 381, 261, 376};
  ExecContext ctx(2, kernels_);
  auto alone = [&](const std::vector<Token>& ids) {
    KvCache cache(model_->config, 32);
    Batch b;
    for (size_t i = 0; i < ids.size(); ++i) b.add(ids[i], static_cast<int32_t>(i), 0, i + 1 == ids.size());
    std::vector<float> out(nv);
    EXPECT_TRUE(forward(*model_, b, cache, ctx, out.data()).ok());
    return out;
  };
  KvCache shared(model_->config, 32, 2);
  Batch mixed;  // rows of the two sequences interleaved
  for (size_t i = 0; i < std::max(a.size(), c.size()); ++i) {
    if (i < c.size()) mixed.add(c[i], static_cast<int32_t>(i), 1, i + 1 == c.size());
    if (i < a.size()) mixed.add(a[i], static_cast<int32_t>(i), 0, i + 1 == a.size());
  }
  std::vector<float> out(2 * nv);
  ASSERT_TRUE(forward(*model_, mixed, shared, ctx, out.data()).ok());
  // a ends first in batch order (row 7), then c (row 10).
  const float tolerance = kernels_[GgmlType::kQ8_0].gemm_packed ? 0.0f : 1e-2f;  // as above
  EXPECT_LE(max_abs_diff(out.data(), alone(a).data(), nv), tolerance);
  EXPECT_LE(max_abs_diff(out.data() + nv, alone(c).data(), nv), tolerance);
}

TEST_F(ForwardTest, ThreadCountDoesNotChangeLogits) {
  const int64_t nv = model_->config.n_vocab;
  const auto ids = prompt();
  std::vector<std::vector<float>> outs;
  for (int threads : {1, 2, 3}) {
    ExecContext ctx(threads, kernels_);
    KvCache cache(model_->config, 32);
    Batch b;
    for (size_t i = 0; i < ids.size(); ++i) b.add(ids[i], static_cast<int32_t>(i), 0, true);
    outs.emplace_back(ids.size() * nv);
    ASSERT_TRUE(forward(*model_, b, cache, ctx, outs.back().data()).ok());
  }
  EXPECT_EQ(outs[0], outs[1]);
  EXPECT_EQ(outs[0], outs[2]);
}

TEST_F(ForwardTest, RejectsRowsThatCannotBeComputed) {
  ExecContext ctx(1, kernels_);
  KvCache cache(model_->config, 4);
  std::vector<float> out(model_->config.n_vocab * 8);
  Batch too_long;
  for (int i = 0; i < 5; ++i) too_long.add(1, i, 0, false);
  auto st = forward(*model_, too_long, cache, ctx, out.data());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("context size"), std::string::npos) << st.error().message;

  Batch bad_token;
  bad_token.add(static_cast<Token>(model_->config.n_vocab), 0, 0, true);
  st = forward(*model_, bad_token, cache, ctx, out.data());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("vocabulary"), std::string::npos);

  Batch gap;
  gap.add(1, 2, 0, true);  // the cache is empty: position 0 must come first
  EXPECT_FALSE(forward(*model_, gap, cache, ctx, out.data()).ok());

  Batch bad_seq;
  bad_seq.add(1, 0, 3, true);
  EXPECT_FALSE(forward(*model_, bad_seq, cache, ctx, out.data()).ok());
  EXPECT_FALSE(forward(*model_, Batch{}, cache, ctx, out.data()).ok());
}

TEST(ModelLoad, UnsupportedArchitectureAndMissingTensorsAreClearErrors) {
  const KernelTable kt = reference_kernels();
  const std::string path = test::temp_path("mamba.gguf");
  ASSERT_TRUE(test::write_edited(test::shared_path("models/tiny/tiny-qwen2-Q8_0.gguf"),
                                 test::GgufEdit{}.with("general.architecture", {std::string("mamba")}), path)
                  .ok());
  auto mamba = Model::load(path, kt);
  std::filesystem::remove(path);
  ASSERT_FALSE(mamba.ok());
  EXPECT_NE(mamba.error().message.find("architecture 'mamba' is not supported"), std::string::npos)
      << mamba.error().message;
  auto vocab_only = Model::load(test::shared_path("tokenizer/ggml-vocab-llama-spm.gguf"), kt);
  ASSERT_FALSE(vocab_only.ok());
  EXPECT_NE(vocab_only.error().message.find("token_embd.weight"), std::string::npos)
      << vocab_only.error().message;
}

}  // namespace
}  // namespace mx
