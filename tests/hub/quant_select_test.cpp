// Which file a quantization tag picks from a repo's listing.
#include <gtest/gtest.h>

#include "hub/quant_select.h"

namespace mx::hub {
namespace {

RepoTree tree_of(std::initializer_list<const char*> paths) {
  RepoTree t;
  for (const char* p : paths) t.push_back(RepoFile{p, 1, std::string(40, 'a'), std::string(64, 'b')});
  return t;
}

std::vector<std::string> paths(const Selection& s) {
  std::vector<std::string> out;
  for (const auto& f : s.files) out.push_back(f.path);
  return out;
}

TEST(QuantSelect, QuantOfFilename) {
  EXPECT_EQ(quant_of_filename("Qwen3-4B-Q4_K_M.gguf"), "Q4_K_M");
  EXPECT_EQ(quant_of_filename("llama-2-7b.Q5_K_S.gguf"), "Q5_K_S");
  EXPECT_EQ(quant_of_filename("sub/model-iq2_xxs-00001-of-00002.gguf"), "IQ2_XXS");
  EXPECT_EQ(quant_of_filename("gpt-oss-20b-MXFP4.gguf"), "MXFP4");
  EXPECT_EQ(quant_of_filename("m-bf16.gguf"), "BF16");
  EXPECT_EQ(quant_of_filename("Qwen3-4B-UD-Q4_K_XL.gguf"), "Q4_K_XL");
  EXPECT_EQ(quant_of_filename("model.gguf"), "");
  EXPECT_EQ(quant_of_filename("README.md"), "");
}

TEST(QuantSelect, ShardNumbers) {
  EXPECT_EQ(shard_of_filename("a-Q8_0-00002-of-00003.gguf").index, 2);
  EXPECT_EQ(shard_of_filename("a-Q8_0-00002-of-00003.gguf").count, 3);
  EXPECT_EQ(shard_of_filename("a-Q8_0-00004-of-00003.gguf").count, 0);
  EXPECT_EQ(shard_of_filename("a-Q8_0.gguf").count, 0);
}

TEST(QuantSelect, CaseInsensitiveAndDefault) {
  const RepoTree t = tree_of({"m-Q8_0.gguf", "m-Q4_K_M.gguf", "m-Q4_K_S.gguf", "mmproj-m-F16.gguf", "README.md"});
  auto s = select_gguf(t, "q4_k_s", "o/m");
  ASSERT_TRUE(s);
  EXPECT_EQ(paths(*s), std::vector<std::string>{"m-Q4_K_S.gguf"});
  EXPECT_EQ(s->quant, "Q4_K_S");
  s = select_gguf(t, "", "o/m");
  ASSERT_TRUE(s);
  EXPECT_EQ(paths(*s), std::vector<std::string>{"m-Q4_K_M.gguf"});
  // The projector is never the model, even when its tag matches.
  s = select_gguf(t, "F16", "o/m");
  EXPECT_FALSE(s);
}

TEST(QuantSelect, SplitSetInOrder) {
  const RepoTree t = tree_of({"x/m-Q8_0-00003-of-00003.gguf", "x/m-Q8_0-00001-of-00003.gguf",
                              "x/m-Q8_0-00002-of-00003.gguf", "m-Q4_0.gguf"});
  auto s = select_gguf(t, "Q8_0", "o/m");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(paths(*s), (std::vector<std::string>{"x/m-Q8_0-00001-of-00003.gguf", "x/m-Q8_0-00002-of-00003.gguf",
                                                 "x/m-Q8_0-00003-of-00003.gguf"}));
  auto f = select_file(t, "x/m-Q8_0-00002-of-00003.gguf", "o/m");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->files.size(), 3u);
  const RepoTree missing = tree_of({"m-Q8_0-00001-of-00003.gguf", "m-Q8_0-00003-of-00003.gguf"});
  auto bad = select_gguf(missing, "Q8_0", "o/m");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("lacks shard 2"), std::string::npos) << bad.error().message;
}

TEST(QuantSelect, MissingQuantListsWhatExists) {
  const RepoTree t = tree_of({"m-Q8_0.gguf", "m-F16.gguf", "m-Q2_K-00001-of-00002.gguf", "m-Q2_K-00002-of-00002.gguf"});
  auto s = select_gguf(t, "Q3_K_L", "o/m");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("F16, Q2_K, Q8_0"), std::string::npos) << s.error().message;
  s = select_gguf(t, "", "o/m");  // no Q4_K_M and several models: the user must choose
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("ORG/REPO:QUANT"), std::string::npos) << s.error().message;
}

TEST(QuantSelect, SingleModelWithoutTag) {
  auto s = select_gguf(tree_of({"model.gguf", "README.md"}), "", "o/m");
  ASSERT_TRUE(s);
  EXPECT_EQ(paths(*s), std::vector<std::string>{"model.gguf"});
  EXPECT_FALSE(select_gguf(tree_of({"README.md"}), "", "o/m"));
}

}  // namespace
}  // namespace mx::hub
