// Embeddings: forward_hidden gives the state the output projection turns into the
// logits, pooling reads the right rows whatever the chunking, and the result has unit length.
#include "engine/embedding.h"

#include <gtest/gtest.h>

#include <cmath>

#include "gguf/gguf_file.h"
#include "stories_test.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace mx {
namespace {

class EmbeddingTest : public test::StoriesTest {
 protected:
  void SetUp() override {
    StoriesTest::SetUp();
    if (HasFatalFailure()) return;
    tokens_ = tokenizer_->encode("Lily saw a big red ball in the park and ran to get it.", true, false);
    ASSERT_GT(tokens_.size(), 8u);
  }

  // Every row's hidden state in one forward pass.
  std::vector<float> all_hidden() {
    KvCache cache(model_->config, 128);
    Batch b;
    for (size_t i = 0; i < tokens_.size(); ++i) b.add(tokens_[i], static_cast<int32_t>(i), 0, true);
    std::vector<float> h(tokens_.size() * model_->config.n_embd);
    EXPECT_TRUE(forward_hidden(*model_, b, cache, ctx_, h.data()).ok());
    return h;
  }

  static std::vector<float> unit(std::vector<double> v) {
    double n2 = 0;
    for (double x : v) n2 += x * x;
    std::vector<float> out;
    for (double x : v) out.push_back(static_cast<float>(x / std::sqrt(n2)));
    return out;
  }

  ExecContext ctx_{2, kernels_};
  std::vector<Token> tokens_;
};

TEST_F(EmbeddingTest, HiddenStateTimesOutputMatrixIsTheLogits) {
  const int64_t d = model_->config.n_embd, v = model_->config.n_vocab, n = static_cast<int64_t>(tokens_.size());
  const std::vector<float> hidden = all_hidden();
  KvCache cache(model_->config, 128);
  Batch b;
  for (int64_t i = 0; i < n; ++i) b.add(tokens_[i], static_cast<int32_t>(i), 0, i == n - 1);
  std::vector<float> logits(v);
  ASSERT_TRUE(forward(*model_, b, cache, ctx_, logits.data()).ok());

  const WeightView& out = model_->weights.output;
  std::vector<float> row(d);
  double max_err = 0, max_abs = 0;
  for (int64_t t = 0; t < v; ++t) {
    kernels_[out.type].to_float(out.data + t * out.row_bytes(), row.data(), d);
    double dot = 0;
    for (int64_t j = 0; j < d; ++j) dot += static_cast<double>(row[j]) * hidden[(n - 1) * d + j];
    max_err = std::max(max_err, std::abs(dot - logits[t]));
    max_abs = std::max(max_abs, std::abs(dot));
  }
  EXPECT_LT(max_err, 1e-3 * std::max(1.0, max_abs)) << "largest logit " << max_abs;
}

TEST_F(EmbeddingTest, MeanPoolingIsTheUnitMeanOfAllRowsWhateverTheChunks) {
  const int64_t d = model_->config.n_embd, n = static_cast<int64_t>(tokens_.size());
  const std::vector<float> hidden = all_hidden();
  std::vector<double> mean(d, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) mean[j] += hidden[i * d + j] / static_cast<double>(n);
  const std::vector<float> expected = unit(mean);

  KvCache cache(model_->config, 128);
  for (const int64_t chunk : {int64_t{512}, int64_t{5}, int64_t{1}}) {
    auto e = embed_tokens(*model_, ctx_, cache, tokens_, Pooling::kMean, chunk);
    ASSERT_TRUE(e.ok()) << e.error().message;
    ASSERT_EQ(static_cast<int64_t>(e->size()), d);
    double norm2 = 0;
    for (int64_t j = 0; j < d; ++j) {
      EXPECT_NEAR((*e)[j], expected[j], 1e-4) << "chunk " << chunk << " dim " << j;
      norm2 += (*e)[j] * (*e)[j];
    }
    EXPECT_NEAR(norm2, 1.0, 1e-5);
    EXPECT_EQ(cache.length(0), 0) << "the cache is left empty";
  }
}

TEST_F(EmbeddingTest, LastAndFirstTokenPoolingReadOneRow) {
  const int64_t d = model_->config.n_embd, n = static_cast<int64_t>(tokens_.size());
  const std::vector<float> hidden = all_hidden();
  KvCache cache(model_->config, 128);
  for (const auto [pooling, row] : {std::pair{Pooling::kLast, n - 1}, std::pair{Pooling::kCls, int64_t{0}}}) {
    const std::vector<float> expected = unit(std::vector<double>(hidden.begin() + row * d, hidden.begin() + (row + 1) * d));
    auto e = embed_tokens(*model_, ctx_, cache, tokens_, pooling, 4);
    ASSERT_TRUE(e.ok());
    for (int64_t j = 0; j < d; ++j) EXPECT_NEAR((*e)[j], expected[j], 1e-4) << "row " << row;
  }
}

TEST_F(EmbeddingTest, DifferentTextsDifferAndBadInputIsRefused) {
  KvCache cache(model_->config, 16);
  const std::vector<Token> a(tokens_.begin(), tokens_.begin() + 6), b(tokens_.begin() + 1, tokens_.begin() + 7);
  auto ea = embed_tokens(*model_, ctx_, cache, a, Pooling::kMean), eb = embed_tokens(*model_, ctx_, cache, b, Pooling::kMean);
  ASSERT_TRUE(ea.ok() && eb.ok());
  double cos = 0;
  for (size_t j = 0; j < ea->size(); ++j) cos += (*ea)[j] * (*eb)[j];
  EXPECT_LT(cos, 0.9999);
  EXPECT_EQ(*embed_tokens(*model_, ctx_, cache, a, Pooling::kMean), *ea) << "deterministic";

  EXPECT_FALSE(embed_tokens(*model_, ctx_, cache, std::vector<Token>{}, Pooling::kMean).ok());
  auto too_long = embed_tokens(*model_, ctx_, cache, std::vector<Token>(17, tokens_[1]), Pooling::kMean);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("context"), std::string::npos);
}

}  // namespace
}  // namespace mx
