// Split models from the command line: quantize writes a set, info shows a set from its first
// shard and any other shard on its own, and run names the first shard when given another.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_runner.h"
#include "gguf/split_files.h"
#include "test_paths.h"

namespace mx {
namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class SplitCli : public ::testing::Test {
 protected:
  // tiny-llama3-gqa as Q8_0 (1.34 MB) in shards of at most 500 KB: three shards.
  void SetUp() override {
    const auto r = test::run_cli("quantize " + test::shared_path("models/tiny/tiny-llama3-gqa-F16.gguf") + " " +
                                 dir_.file("out.gguf") + " Q8_0 -t 2 --split-max-size 500K");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.err, "wrote 3 shards")) << r.err;
    for (int i = 1; i <= 3; ++i) ASSERT_TRUE(std::filesystem::exists(shard(i))) << shard(i);
  }
  std::string shard(int i) const { return dir_.file("out-0000" + std::to_string(i) + "-of-00003.gguf"); }

  test::ScratchDir dir_{"split_cli"};
};

TEST_F(SplitCli, InfoOnTheFirstShardShowsTheWholeModelAndItsShards) {
  const auto r = test::run_cli("info " + shard(1));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "20 tensors\n")) << r.out;
  EXPECT_TRUE(has(r.out, "split:      3 shards, 20 tensors in all")) << r.out;
  for (int i = 1; i <= 3; ++i) EXPECT_TRUE(has(r.out, shard(i) + "  ")) << r.out;
  EXPECT_TRUE(has(r.out, "model:      tiny-llama3-gqa")) << r.out;
  EXPECT_TRUE(has(r.out, "blk.1.ffn_up.weight")) << r.out;  // a tensor of the last shard
}

TEST_F(SplitCli, InfoOnALaterShardShowsThatShard) {
  const auto r = test::run_cli("info " + shard(2));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "split:      shard 2 of 3")) << r.out;
  EXPECT_TRUE(has(r.out, "the model opens from " + shard(1))) << r.out;
  EXPECT_TRUE(has(r.out, "split.no")) << r.out;
  EXPECT_FALSE(has(r.out, "general.architecture")) << r.out;
}

TEST_F(SplitCli, InfoOnABrokenSetSaysWhatIsMissing) {
  std::filesystem::remove(shard(3));
  const auto r = test::run_cli("info " + shard(1));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(has(r.out, "split:      broken: ")) << r.out;
  EXPECT_TRUE(has(r.err, "cannot read shard 3 of 3")) << r.err;
}

TEST_F(SplitCli, RunOnALaterShardNamesTheFirst) {
  const auto r = test::run_cli("run -m " + shard(3) + " -p Once -n 2");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(has(r.err, "shard 3 of 3 of a split model: open its first shard, '" + shard(1) + "'")) << r.err;
}

TEST_F(SplitCli, QuantizeReadsASplitInput) {
  const auto r = test::run_cli("quantize " + shard(1) + " " + dir_.file("again.gguf") +
                               " Q8_0 -t 2 --allow-requantize --split-max-tensors 10");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.err, "wrote 2 shards")) << r.err;
  const auto info = test::run_cli("info " + dir_.file("again-00001-of-00002.gguf"));
  EXPECT_TRUE(has(info.out, "split:      2 shards, 20 tensors in all")) << info.out;
}

TEST(SplitCliOptions, BadSizeIsAUsageError) {
  const auto r = test::run_cli("quantize " + test::shared_path("models/tiny/tiny-llama3-gqa-F16.gguf") + " " +
                               test::temp_file("never") + ".gguf Q8_0 --split-max-size 12Q");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(has(r.err, "--split-max-size '12Q' is not a size such as 500M or 2G")) << r.err;
}

}  // namespace
}  // namespace mx
