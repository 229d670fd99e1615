// A Mistral-style llama file with `llama.attention.sliding_window` = W: every layer attends
// to the last W positions only (the reference ignores the key for this architecture, so
// there is no golden; what holds by construction is checked instead).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "gguf_edit.h"
#include "model/forward.h"
#include "test_paths.h"

namespace mx {
namespace {

std::vector<float> logits_of(const std::string& path, const std::vector<Token>& ids) {
  auto m = Model::load(path, best_kernels(CpuFeatures::detect()));
  EXPECT_TRUE(m.ok()) << m.error().message;
  if (!m.ok()) return {};
  ExecContext ctx(1, best_kernels(CpuFeatures::detect()));
  KvCache cache((*m)->config, 64, 1, 0, 0, {GgmlType::kF32, GgmlType::kF32});  // as the goldens were made
  Batch batch;
  for (size_t i = 0; i < ids.size(); ++i) batch.add(ids[i], static_cast<int32_t>(i), 0, true);
  std::vector<float> logits(ids.size() * (*m)->config.n_vocab);
  EXPECT_TRUE(forward(**m, batch, cache, ctx, logits.data()).ok());
  return logits;
}

TEST(SlidingWindow, MistralStyleWindowOnEveryLayer) {
  const std::string base = test::shared_path("models/tiny/tiny-llama3-gqa-F16.gguf");
  const std::string windowed = test::temp_path("llama_swa8.gguf");
  ASSERT_TRUE(test::write_edited(base, test::GgufEdit{}.with("llama.attention.sliding_window", {uint32_t{8}}), windowed)
                  .ok());
  const std::vector<Token> ids = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 290, 301, 350, 17, 88, 99};
  const auto full = logits_of(base, ids), local = logits_of(windowed, ids);
  ASSERT_EQ(full.size(), local.size());
  const size_t n_vocab = full.size() / ids.size();
  auto row_diff = [&](size_t row) {
    float d = 0;
    for (size_t i = row * n_vocab; i < (row + 1) * n_vocab; ++i) d = std::max(d, std::fabs(full[i] - local[i]));
    return d;
  };
  // Positions 0..7 see at most 8 keys: the window changes nothing there.
  for (size_t row = 0; row < 8; ++row) EXPECT_EQ(row_diff(row), 0.0f) << row;
  // From position 8 on, the first keys fall out of the window.
  for (size_t row = 8; row < ids.size(); ++row) EXPECT_GT(row_diff(row), 1e-3f) << row;
  std::filesystem::remove(windowed);
}

}  // namespace
}  // namespace mx
