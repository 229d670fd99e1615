// A model split into shards loads, runs and quantizes exactly as the whole file does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "gguf/split.h"
#include "gguf/split_files.h"
#include "model/model.h"
#include "model/quantize.h"
#include "prompt_logits.h"
#include "test_paths.h"

namespace mx {
namespace {

const std::string kGolden = "golden/tiny-llama3-gqa-Q8_0";

nlohmann::json first_prompt() {
  std::ifstream in(test::shared_path(kGolden + "/manifest.json"));
  return nlohmann::json::parse(in)["prompts"][0];
}

std::vector<float> logits_of(const std::string& path, const std::vector<Token>& ids) {
  auto m = Model::load(path, best_kernels(CpuFeatures::detect()));
  EXPECT_TRUE(m.ok()) << path << ": " << m.error().message;
  if (!m) return {};
  return test::prompt_logits(**m, ids, static_cast<int64_t>(ids.size()), 1);
}

QuantizeOptions q8_0(gguf::SplitLimits split = {}) {
  return {.file_type = *find_file_type("Q8_0"), .n_threads = 2, .split = split};
}

bool same_bytes(const std::string& a, const std::string& b) { return test::read_text_file(a) == test::read_text_file(b); }

TEST(SplitModel, ShardsGiveTheLogitsOfTheWholeFileAndTheReference) {
  test::ScratchDir dir("split_model");
  const std::string whole = test::shared_path("models/tiny/tiny-llama3-gqa-Q8_0.gguf");
  const std::vector<std::string> shards = test::write_split_copy(whole, dir.file("tiny.gguf"), 8);
  ASSERT_EQ(shards.size(), 3u);  // 20 tensors
  const auto prompt = first_prompt();
  const std::vector<Token> ids = prompt["prompt_token_ids"];
  const std::vector<float> split_logits = logits_of(shards[0], ids);
  const std::vector<float> whole_logits = logits_of(whole, ids);
  ASSERT_FALSE(split_logits.empty());
  EXPECT_TRUE(split_logits == whole_logits) << "the split model's logits differ from the whole file's";

  // Against the reference as the golden tests hold Q8_0 (logit std 0.32): 0.1 abs, top-1 85%.
  const std::vector<float> golden = test::read_f32_file(test::shared_path(kGolden + "/p0.logits.f32"));
  ASSERT_EQ(golden.size(), split_logits.size());
  const int64_t n_vocab = prompt["n_vocab"];
  float max_abs = 0;
  int64_t agree = 0;
  for (size_t row = 0; row < ids.size(); ++row) {
    const float* got = &split_logits[row * n_vocab];
    const float* want = &golden[row * n_vocab];
    for (int64_t i = 0; i < n_vocab; ++i) max_abs = std::max(max_abs, std::fabs(got[i] - want[i]));
    agree += std::max_element(got, got + n_vocab) - got == std::max_element(want, want + n_vocab) - want;
  }
  EXPECT_LE(max_abs, 0.1f);
  EXPECT_GE(static_cast<double>(agree) / ids.size(), 0.85);
}

TEST(SplitModel, LoadingALaterShardNamesTheFirst) {
  test::ScratchDir dir("split_later");
  const std::vector<std::string> shards =
      test::write_split_copy(test::shared_path("models/tiny/tiny-llama3-gqa-Q8_0.gguf"), dir.file("tiny.gguf"), 8);
  ASSERT_EQ(shards.size(), 3u);
  auto m = Model::load(shards[1], best_kernels(CpuFeatures::detect()));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("shard 2 of 3 of a split model: open its first shard, '" + shards[0] + "'"),
            std::string::npos)
      << m.error().message;
}

TEST(SplitQuantize, SplitInputGivesTheFileTheWholeInputGives) {
  test::ScratchDir dir("split_quantize_in");
  const std::string f16 = test::shared_path("models/tiny/tiny-llama3-gqa-F16.gguf");
  const std::vector<std::string> shards = test::write_split_copy(f16, dir.file("f16.gguf"), 8);
  ASSERT_EQ(shards.size(), 3u);
  const std::string from_whole = dir.file("whole-q8.gguf"), from_split = dir.file("split-q8.gguf");
  ASSERT_TRUE(quantize_model(f16, from_whole, q8_0()).ok());
  auto report = quantize_model(shards[0], from_split, q8_0());
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->files, std::vector<std::string>{from_split});
  EXPECT_TRUE(same_bytes(from_whole, from_split));  // the input's split keys are not carried over
}

TEST(SplitQuantize, SplitOutputRunsAsTheWholeOutput) {
  test::ScratchDir dir("split_quantize_out");
  const std::string f16 = test::shared_path("models/tiny/tiny-llama3-gqa-F16.gguf");
  const std::string whole = dir.file("whole.gguf");
  ASSERT_TRUE(quantize_model(f16, whole, q8_0()).ok());
  constexpr uint64_t kMax = 500'000;  // the Q8_0 file is 1.34 MB
  auto report = quantize_model(f16, dir.file("out.gguf"), q8_0({.max_bytes = kMax}));
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->files.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(report->files[i], gguf::shard_path(dir.file("out"), static_cast<int64_t>(i), 3));
    EXPECT_LE(std::filesystem::file_size(report->files[i]), kMax) << report->files[i];
  }
  const std::vector<Token> ids = first_prompt()["prompt_token_ids"];
  const std::vector<float> split_logits = logits_of(report->files[0], ids);
  ASSERT_FALSE(split_logits.empty());
  EXPECT_TRUE(split_logits == logits_of(whole, ids));
}

}  // namespace
}  // namespace mx
