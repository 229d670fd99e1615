// Split GGUF sets: shard names, the shard plan, one File over all shards, and every broken set
// refused with a message naming the file, key or tensor.
#include "gguf/split.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "gguf/split_writer.h"
#include "sample_files.h"
#include "split_files.h"

namespace mx::gguf {
namespace {

struct ShardSpec {
  int64_t no = 0, count = 3, n_tensors = 5;
  std::vector<std::string> tensors;
};

// A shard as gguf-split writes it: the first with the model's keys, each with the split keys.
void write_shard(const std::string& path, const ShardSpec& s) {
  Writer w;
  if (s.no == 0) {
    w.set("general.architecture", {std::string("llama")});
    w.set("general.name", {std::string("split sample")});
  }
  w.set(std::string(kSplitNoKey), {static_cast<uint16_t>(s.no)});
  w.set(std::string(kSplitCountKey), {static_cast<uint16_t>(s.count)});
  w.set(std::string(kSplitTensorsKey), {static_cast<int32_t>(s.n_tensors)});
  for (const std::string& name : s.tensors)
    w.add_tensor(name, GgmlType::kF32, {4, 2}, test::pattern(32, static_cast<uint8_t>(name[0])));
  ASSERT_TRUE(w.write_file(path).ok());
}

class SplitSet : public ::testing::Test {
 protected:
  // The healthy set: tensors a b | c d | e.
  void write_set() {
    write(0, {.no = 0, .tensors = {"a", "b"}});
    write(1, {.no = 1, .tensors = {"c", "d"}});
    write(2, {.no = 2, .tensors = {"e"}});
  }
  void write(int64_t index, const ShardSpec& s) { write_shard(path(index), s); }
  std::string path(int64_t index, int64_t count = 3) const { return shard_path(dir_.file("m"), index, count); }
  std::string open_error(const std::string& p) const {
    auto f = File::open(p);
    EXPECT_FALSE(f.ok()) << p << " opened";
    return f ? "" : f.error().message;
  }

  test::ScratchDir dir_{"split_set"};
};

TEST(SplitNames, FollowGgufSplit) {
  EXPECT_EQ(shard_path("dir/model", 0, 3), "dir/model-00001-of-00003.gguf");
  EXPECT_EQ(shard_path("m", 11, 12), "m-00012-of-00012.gguf");
  EXPECT_EQ(shard_prefix("dir/model-00002-of-00003.gguf", 1, 3), "dir/model");
  EXPECT_EQ(shard_prefix("dir/model-00002-of-00003.gguf", 0, 3), std::nullopt);
  EXPECT_EQ(shard_prefix("model.gguf", 0, 1), std::nullopt);
  EXPECT_EQ(shard_prefix("-00001-of-00001.gguf", 0, 1), std::nullopt);  // no prefix at all
}

TEST(SplitPlan, ByTensorCountAndBySize) {
  Writer w;
  w.set("general.name", {std::string("plan")});
  for (int i = 0; i < 5; ++i) w.add_tensor("t" + std::to_string(i), GgmlType::kF32, {256}, test::pattern(1024, 1));
  auto by_count = plan_shards(w, {.max_tensors = 2});
  ASSERT_TRUE(by_count.ok());
  EXPECT_EQ(*by_count, (std::vector<size_t>{0, 2, 4}));
  // Each tensor adds 1024 bytes of data and 34 of header; a shard's keys take a few hundred.
  auto by_size = plan_shards(w, {.max_bytes = 3000});
  ASSERT_TRUE(by_size.ok());
  EXPECT_EQ(*by_size, (std::vector<size_t>{0, 2, 4}));
  // A tensor larger than the limit still gets a shard (of its own).
  auto tiny = plan_shards(w, {.max_bytes = 100});
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->size(), 5u);
}

TEST_F(SplitSet, WrittenShardsStayUnderTheSizeAndReadBackAsOneFile) {
  Writer w;
  w.set("general.name", {std::string("sized")});
  for (int i = 0; i < 6; ++i)
    w.add_tensor("t" + std::to_string(i), GgmlType::kF32, {256}, test::pattern(1024, static_cast<uint8_t>(i)));
  auto paths = write_split(w, dir_.file("sized.gguf"), {.max_bytes = 3000});
  ASSERT_TRUE(paths.ok()) << paths.error().message;
  ASSERT_EQ(paths->size(), 3u);
  EXPECT_EQ((*paths)[2], dir_.file("sized-00003-of-00003.gguf"));
  for (const std::string& p : *paths) EXPECT_LE(std::filesystem::file_size(p), 3000u) << p;
  auto f = File::open((*paths)[0]);
  ASSERT_TRUE(f.ok()) << f.error().message;
  ASSERT_EQ(f->tensors().size(), 6u);
  for (int i = 0; i < 6; ++i) {
    const TensorInfo& t = f->tensors()[i];
    EXPECT_EQ(t.name, "t" + std::to_string(i));
    EXPECT_EQ(std::memcmp(t.data, test::pattern(1024, static_cast<uint8_t>(i)).data(), 1024), 0) << t.name;
  }
}

TEST_F(SplitSet, FirstShardOpensTheWholeSet) {
  write_set();
  auto f = File::open(path(0));
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->get_string("general.name"), "split sample");
  ASSERT_EQ(f->shards().size(), 3u);
  uint64_t total = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(f->shards()[i].path, path(i));
    total += std::filesystem::file_size(path(i));
  }
  EXPECT_EQ(f->shards()[1].n_tensors, 2u);
  EXPECT_EQ(f->file_size(), total);
  ASSERT_EQ(f->tensors().size(), 5u);
  for (const TensorInfo& t : f->tensors()) {
    EXPECT_EQ(f->find_tensor(t.name), &t);
    const std::vector<uint8_t> want = test::pattern(32, static_cast<uint8_t>(t.name[0]));
    EXPECT_EQ(std::memcmp(t.data, want.data(), want.size()), 0) << t.name;
    f->drop_tensor_pages(t);  // each shard's mapping: the bytes read back from the file
    EXPECT_EQ(std::memcmp(t.data, want.data(), want.size()), 0) << t.name;
  }
  EXPECT_EQ(f->tensors()[4].name, "e");
}

TEST_F(SplitSet, OneShardAloneOpensWithItsOwnTensors) {
  write_set();
  auto f = File::open_single(path(1));
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->tensors().size(), 2u);
  EXPECT_FALSE(f->get_string("general.name"));
  auto info = read_split_info(*f);
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(info->has_value());
  EXPECT_EQ((*info)->no, 1);
  EXPECT_EQ((*info)->count, 3);
  EXPECT_EQ((*info)->n_tensors, 5);
}

TEST_F(SplitSet, ALaterShardNamesTheFirstToOpen) {
  write_set();
  const std::string e = open_error(path(1));
  EXPECT_NE(e.find("shard 2 of 3 of a split model"), std::string::npos) << e;
  EXPECT_NE(e.find(path(0)), std::string::npos) << e;
}

TEST_F(SplitSet, MissingShard) {
  write_set();
  std::filesystem::remove(path(2));
  const std::string e = open_error(path(0));
  EXPECT_NE(e.find("cannot read shard 3 of 3"), std::string::npos) << e;
  EXPECT_NE(e.find(path(2)), std::string::npos) << e;
}

TEST_F(SplitSet, TensorInTwoShards) {
  write_set();
  write(1, {.no = 1, .tensors = {"c", "a"}});
  const std::string e = open_error(path(0));
  EXPECT_NE(e.find("tensor 'a' is in two shards"), std::string::npos) << e;
  EXPECT_NE(e.find(path(1)), std::string::npos) << e;
}

TEST_F(SplitSet, ShardWithAnotherSplitCount) {
  write_set();
  write(2, {.no = 2, .count = 4, .tensors = {"e"}});
  const std::string e = open_error(path(0));
  EXPECT_NE(e.find(path(2) + ": split.count is 4, but the first shard"), std::string::npos) << e;
  EXPECT_NE(e.find("different split sets"), std::string::npos) << e;
}

TEST_F(SplitSet, TensorCountThatDisagrees) {
  write_set();
  write(1, {.no = 1, .n_tensors = 6, .tensors = {"c", "d"}});
  std::string e = open_error(path(0));
  EXPECT_NE(e.find(path(1) + ": split.tensors.count is 6, but the first shard"), std::string::npos) << e;
  // All shards agree, but the set holds fewer tensors than they say.
  write(0, {.no = 0, .n_tensors = 6, .tensors = {"a", "b"}});
  write(2, {.no = 2, .n_tensors = 6, .tensors = {"e"}});
  e = open_error(path(0));
  EXPECT_NE(e.find("split.tensors.count is 6, but the 3 shards hold 5 tensors"), std::string::npos) << e;
}

TEST_F(SplitSet, SplitNoOutOfRangeOrOutOfPlace) {
  write_set();
  write(1, {.no = 7, .tensors = {"c", "d"}});
  std::string e = open_error(path(0));
  EXPECT_NE(e.find(path(1) + ": split.no 7 is out of range"), std::string::npos) << e;
  write(1, {.no = 2, .tensors = {"c", "d"}});
  e = open_error(path(0));
  EXPECT_NE(e.find("split.no is 2 (shard 3), but its name makes it shard 2 of 3"), std::string::npos) << e;
}

TEST_F(SplitSet, FirstShardRenamed) {
  write_set();
  const std::string renamed = dir_.file("renamed.gguf");
  std::filesystem::rename(path(0), renamed);
  const std::string e = open_error(renamed);
  EXPECT_NE(e.find("does not end in '-00001-of-00003.gguf'"), std::string::npos) << e;
}

TEST_F(SplitSet, MalformedSplitKeys) {
  auto error_of = [&](const std::vector<std::pair<std::string, Value>>& keys) {
    Writer w;
    for (const auto& [k, v] : keys) w.set(k, v);
    w.add_tensor("a", GgmlType::kF32, {4}, test::pattern(16, 1));
    const std::string p = dir_.file("bad-00001-of-00001.gguf");
    EXPECT_TRUE(w.write_file(p).ok());
    return open_error(p);
  };
  const Value no{uint16_t{0}}, one{uint16_t{1}}, tensors{int32_t{1}};
  EXPECT_NE(error_of({{"split.no", no}, {"split.count", {std::string("1")}}, {"split.tensors.count", tensors}})
                .find("split.count has type string, expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of({{"split.no", no}, {"split.count", {uint16_t{0}}}, {"split.tensors.count", tensors}})
                .find("split.count 0 is outside 1..65535"),
            std::string::npos);
  EXPECT_NE(error_of({{"split.no", no}, {"split.count", one}}).find("no split.tensors.count"), std::string::npos);
  EXPECT_NE(error_of({{"split.no", no}, {"split.count", one}, {"split.tensors.count", {int32_t{-1}}}})
                .find("split.tensors.count -1 is negative"),
            std::string::npos);
  // A set of one shard is fine when its count is right.
  Writer w;
  w.set("split.no", no);
  w.set("split.count", one);
  w.set("split.tensors.count", tensors);
  w.add_tensor("a", GgmlType::kF32, {4}, test::pattern(16, 1));
  ASSERT_TRUE(w.write_file(dir_.file("one-00001-of-00001.gguf")).ok());
  auto f = File::open(dir_.file("one-00001-of-00001.gguf"));
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->shards().size(), 1u);
}

}  // namespace
}  // namespace mx::gguf
