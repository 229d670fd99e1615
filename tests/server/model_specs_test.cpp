// The models a serve command line names: ids from file stems (a split set's without its
// shard suffix), -m text kept for what is not a file, --models-dir's files (first shards
// only), aliases paired by rank or by MODEL=NAME, unique names, and --max-memory sizes.
#include "server/model_specs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace mx::server {
namespace {

namespace fs = std::filesystem;

class ModelSpecsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("moxing_specs_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    for (const char* name : {"a.gguf", "b.gguf", "big-00001-of-00002.gguf", "big-00002-of-00002.gguf", "notes.txt"})
      std::ofstream(dir_ / name) << "0123456789";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const char* name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(ModelSpecsTest, IdsAreFileStemsOrTheTextGivenAndAliasesPairByRankOrByName) {
  auto s = model_specs({file("a.gguf"), "org/repo:Q4_K_M"}, "", {"first", "second", "a=third"});
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].id, "a");
  EXPECT_EQ((*s)[0].aliases, (std::vector<std::string>{"first", "third"}));
  EXPECT_EQ((*s)[0].estimated_bytes, 10);
  EXPECT_EQ((*s)[1].id, "org/repo:Q4_K_M");
  EXPECT_EQ((*s)[1].aliases, (std::vector<std::string>{"second"}));
  // A name with dots is not cut at its "extension"; a shard's id is its set's.
  EXPECT_EQ(model_id("Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M"), "Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M");
  EXPECT_EQ(model_id(file("big-00001-of-00002.gguf")), "big");
}

TEST_F(ModelSpecsTest, AModelsDirOffersEachGgufOnceAndASplitSetByItsFirstShard) {
  auto s = model_specs({file("b.gguf")}, dir_.string(), {"big=large"});
  ASSERT_TRUE(s) << s.error().message;
  std::vector<std::string> ids;
  for (const ModelSpec& m : *s) ids.push_back(m.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"b", "a", "big"}));
  EXPECT_EQ((*s)[2].path, file("big-00001-of-00002.gguf"));
  EXPECT_EQ((*s)[2].estimated_bytes, 20) << "both shards count";
  EXPECT_EQ((*s)[2].aliases, std::vector<std::string>{"large"});
}

TEST_F(ModelSpecsTest, RefusesWhatCannotBeServed) {
  EXPECT_FALSE(model_specs({}, "", {}));
  EXPECT_FALSE(model_specs({file("a.gguf")}, "", {"x", "y"})) << "a plain alias with no -m of its rank";
  EXPECT_FALSE(model_specs({file("a.gguf")}, "", {"nope=x"}));
  EXPECT_FALSE(model_specs({file("a.gguf"), file("b.gguf")}, "", {"b"})) << "an alias equal to another model's id";
  auto dup = model_specs({file("a.gguf"), file("a.gguf")}, "", {});
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("two models are named a"), std::string::npos) << dup.error().message;
}

TEST(ParseSize, BinaryUnitsWithOrWithoutB) {
  EXPECT_EQ(*parse_size("4096"), 4096);
  EXPECT_EQ(*parse_size("512M"), 512ll << 20);
  EXPECT_EQ(*parse_size("8G"), 8ll << 30);
  EXPECT_EQ(*parse_size("1.5GiB"), 3ll << 29);
  EXPECT_EQ(*parse_size("2kb"), 2048);
  EXPECT_FALSE(parse_size("lots"));
  EXPECT_FALSE(parse_size("3X"));
  EXPECT_FALSE(parse_size("-1G"));
}

}  // namespace
}  // namespace mx::server
