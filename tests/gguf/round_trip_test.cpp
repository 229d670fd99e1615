#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <unistd.h>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "sample_files.h"

namespace mx::gguf {
namespace {

using test::pattern;
using test::same_value;
using test::sample_metadata;
using test::sample_tensors;
using test::sample_writer;

// Everything the writer was given comes back: metadata in order, shapes, types, bytes.
void expect_sample(const File& f, std::span<const uint8_t> bytes, uint32_t alignment) {
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), alignment);
  EXPECT_EQ(f.data_offset() % alignment, 0u);
  EXPECT_EQ(f.file_size(), bytes.size());
  const auto want_kv = sample_metadata();
  const size_t extra = alignment == 32 ? 0 : 1;  // general.alignment, written last
  ASSERT_EQ(f.metadata().size(), want_kv.size() + extra);
  for (size_t i = 0; i < want_kv.size(); ++i) {
    EXPECT_EQ(f.metadata()[i].key, want_kv[i].first);
    EXPECT_TRUE(same_value(f.metadata()[i].value, want_kv[i].second)) << want_kv[i].first;
    ASSERT_NE(f.find(want_kv[i].first), nullptr);
  }
  if (extra) EXPECT_EQ(f.get_int("general.alignment"), alignment);
  else EXPECT_EQ(f.find("general.alignment"), nullptr);

  const auto want_t = sample_tensors();
  ASSERT_EQ(f.tensors().size(), want_t.size());
  for (size_t i = 0; i < want_t.size(); ++i) {
    const TensorInfo& t = f.tensors()[i];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.name, want_t[i].name);
    EXPECT_EQ(t.type, want_t[i].type);
    EXPECT_EQ(t.dims, want_t[i].dims);
    EXPECT_EQ(t.n_bytes, want_t[i].n_bytes);
    EXPECT_EQ(t.offset % alignment, 0u);
    EXPECT_EQ(t.data, bytes.data() + f.data_offset() + t.offset);
    const std::vector<uint8_t> want = pattern(want_t[i].n_bytes, static_cast<uint8_t>(i));
    EXPECT_TRUE(std::equal(want.begin(), want.end(), t.data));
    EXPECT_EQ(f.find_tensor(t.name), &t);
  }
}

TEST(GgufRoundTrip, EveryValueTypeAndTensorType) {
  const std::vector<uint8_t> bytes = sample_writer().to_bytes();
  ASSERT_FALSE(bytes.empty());
  auto f = File::parse(bytes, "sample.gguf");
  ASSERT_TRUE(f.ok()) << f.error().message;
  expect_sample(*f, bytes, 32);
  EXPECT_EQ(f->tensors()[1].offset, 96u);  // after f32.weight's 96 bytes
  EXPECT_EQ(f->tensors()[2].offset, 128u);  // f16.vec's 10 bytes padded to 32
  EXPECT_EQ(bytes.size() % 32, 0u);         // the last tensor is padded too
}

TEST(GgufRoundTrip, NonDefaultAlignment) {
  for (uint32_t alignment : {1u, 8u, 64u, 4096u}) {
    SCOPED_TRACE(alignment);
    const std::vector<uint8_t> bytes = sample_writer(alignment).to_bytes();
    auto f = File::parse(bytes);
    ASSERT_TRUE(f.ok()) << f.error().message;
    expect_sample(*f, bytes, alignment);
  }
}

TEST(GgufRoundTrip, TypedGetters) {
  const std::vector<uint8_t> bytes = sample_writer().to_bytes();
  auto f = File::parse(bytes);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->get_int("t.u8"), 200);
  EXPECT_EQ(f->get_int("t.i16"), -30000);
  EXPECT_EQ(f->get_int("t.u64"), std::nullopt);  // above INT64_MAX
  EXPECT_EQ(f->get_int("t.f32"), std::nullopt);
  EXPECT_EQ(f->get_float("t.f32"), 1.5);
  EXPECT_EQ(f->get_float("t.u32"), 4000000000.0);
  EXPECT_EQ(f->get_bool("t.bool"), true);
  EXPECT_EQ(f->get_bool("t.u8"), std::nullopt);
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_EQ(f->get_string("t.empty_string"), "");
  EXPECT_EQ(f->get_string("t.i32"), std::nullopt);
  ASSERT_NE(f->get_array("t.i32s"), nullptr);
  EXPECT_EQ(f->get_array("t.i32s")->items.size(), 3u);
  EXPECT_EQ(f->get_array("t.u8"), nullptr);
  EXPECT_EQ(f->find("missing"), nullptr);
  EXPECT_EQ(f->get_int("missing"), std::nullopt);
  EXPECT_EQ(f->find_tensor("missing"), nullptr);
  EXPECT_EQ(f->find_tensor("q4.weight")->n_elements(), 192);
  EXPECT_EQ(f->find_tensor("q4.weight")->n_rows(), 6);
}

TEST(GgufRoundTrip, SettingAKeyTwiceReplacesItInPlace) {
  Writer w;
  w.set("a", Value{1});
  w.set("b", Value{2});
  w.set("a", Value{std::string("x")});
  const std::vector<uint8_t> bytes = w.to_bytes();
  auto f = File::parse(bytes);
  ASSERT_TRUE(f.ok()) << f.error().message;
  ASSERT_EQ(f->metadata().size(), 2u);
  EXPECT_EQ(f->metadata()[0].key, "a");
  EXPECT_EQ(f->get_string("a"), "x");
  EXPECT_TRUE(f->tensors().empty());
  EXPECT_EQ(f->data_offset(), bytes.size());
}

class GgufWriteFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("gguf_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

std::vector<uint8_t> read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_F(GgufWriteFile, StreamsTheSameBytesAsToBytes) {
  const std::string path = (dir_ / "model.gguf").string();
  const Writer w = sample_writer(64);
  ASSERT_TRUE(w.write_file(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_EQ(read_all(path), w.to_bytes());
  auto f = File::open(path);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->name(), path);
  // The mapping outlives the File it came from: copies share it.
  const File copy = *f;
  f = make_error("gone");
  expect_sample(copy, {copy.tensors()[0].data - copy.data_offset() - copy.tensors()[0].offset,
                       copy.file_size()}, 64);
}

TEST_F(GgufWriteFile, ProducersGetExactlyTheTensorsBytes) {
  Writer w;
  std::vector<size_t> sizes;
  auto producer = [&](std::span<uint8_t> out) {
    sizes.push_back(out.size());
    std::fill(out.begin(), out.end(), uint8_t{0xAB});
  };
  w.add_tensor("a", GgmlType::kQ8_0, {96, 5}, producer);
  w.add_tensor("b", GgmlType::kF16, {3}, producer);
  const std::string path = (dir_ / "p.gguf").string();
  ASSERT_TRUE(w.write_file(path).ok());
  EXPECT_EQ(sizes, (std::vector<size_t>{3 * 34 * 5, 6}));
  auto f = File::open(path);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->find_tensor("b")->data[5], 0xAB);
}

TEST_F(GgufWriteFile, FailuresLeaveNoFile) {
  Writer bad;
  bad.add_tensor("x", GgmlType::kQ8_0, {33}, std::vector<uint8_t>(34));
  const std::string path = (dir_ / "bad.gguf").string();
  const Status s = bad.write_file(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("not a multiple of the Q8_0 block size 32"), std::string::npos)
      << s.error().message;
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const Status io = sample_writer().write_file((dir_ / "no/such/dir/x.gguf").string());
  ASSERT_FALSE(io.ok());
  EXPECT_NE(io.error().message.find("cannot write"), std::string::npos) << io.error().message;
}

TEST(GgufWriterCheck, RejectsWhatTheReaderWould) {
  auto expect = [](const Writer& w, const std::string& fragment) {
    const Status s = w.check();
    ASSERT_FALSE(s.ok()) << fragment;
    EXPECT_NE(s.error().message.find(fragment), std::string::npos) << s.error().message;
    EXPECT_TRUE(w.to_bytes().empty());
  };
  Writer w1;
  w1.add_tensor("x", GgmlType::kF32, {4}, std::vector<uint8_t>(15));
  expect(w1, "15 bytes of data given, a F32 [4] needs 16");
  Writer w2;
  w2.add_tensor("x", GgmlType::kF32, {1}, std::vector<uint8_t>(4));
  w2.add_tensor("x", GgmlType::kF32, {1}, std::vector<uint8_t>(4));
  expect(w2, "duplicate tensor name 'x'");
  Writer w3;
  w3.add_tensor("x", GgmlType::kF32, {2, 0}, std::vector<uint8_t>());
  expect(w3, "dimension 0 is not positive");
  Writer w4;
  w4.add_tensor("x", GgmlType::kF32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4));
  expect(w4, "5 dims, expected 1..4");
  Writer w5;
  w5.set("k", test::array_of(ValueType::kI32, {Value{1}, Value{2.0f}}));
  expect(w5, "key 'k': a f32 item in an array of i32");
  expect(Writer(3), "alignment 3 is not a nonzero power of two");
  Writer w6(64);
  w6.set("general.alignment", Value{uint32_t{32}});
  expect(w6, "disagrees with the writer's alignment 64");
  Writer w7;
  Value deep = test::array_of(ValueType::kU8, {});
  for (int i = 0; i < 8; ++i) deep = test::array_of(ValueType::kArray, {deep});
  w7.set("deep", deep);
  expect(w7, "nested deeper than 8");
  Writer w8;
  w8.set("", Value{1});
  expect(w8, "key length 0");
  Writer w9;
  w9.add_tensor("x", GgmlType::kF32, {int64_t{1} << 62, 4}, [](std::span<uint8_t>) {});
  expect(w9, "element count overflows");
  Writer w10;
  w10.add_tensor("x", GgmlType::kF32, {int64_t{1} << 62}, [](std::span<uint8_t>) {});
  expect(w10, "byte size overflows");
  Writer w11;
  for (const char* name : {"a", "b", "c"})
    w11.add_tensor(name, GgmlType::kI8, {int64_t{1} << 62}, [](std::span<uint8_t>) {});
  expect(w11, "tensor 'b': the data section size overflows");
}

}  // namespace
}  // namespace mx::gguf
