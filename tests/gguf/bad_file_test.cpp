// Hostile and broken files: each must give an error that says what and where, never a
// crash, a hang or a huge allocation.
#include <gtest/gtest.h>

#include <random>

#include "gguf/gguf_file.h"
#include "raw_gguf.h"
#include "sample_files.h"

namespace mx::gguf {
namespace {

using test::RawGguf;

constexpr uint32_t kF32 = 0, kQ8_0 = 8;  // ggml type numbers
constexpr uint32_t kTypeU32 = 4, kTypeI32 = 5, kTypeBool = 7, kTypeString = 8, kTypeArray = 9;

std::string parse_error(const std::vector<uint8_t>& bytes) {
  auto f = File::parse(bytes, "bad.gguf");
  return f ? "" : f.error().message;
}

void expect_error(const std::vector<uint8_t>& bytes, std::string_view fragment) {
  const std::string err = parse_error(bytes);
  EXPECT_NE(err.find(fragment), std::string::npos)
      << "want '" << fragment << "', got '" << err << "'";
  EXPECT_EQ(err.rfind("bad.gguf: ", 0), 0u) << "errors name the file: " << err;
}

std::vector<uint8_t> bytes_of(std::vector<uint64_t> words) {  // u64 fields, little-endian
  std::vector<uint8_t> out;
  for (uint64_t w : words) RawGguf::put(out, w);
  return out;
}

std::vector<uint8_t> array_header(uint32_t elem_type, uint64_t count) {
  std::vector<uint8_t> out;
  RawGguf::put(out, elem_type);
  RawGguf::put(out, count);
  return out;
}

// A file with one F32 tensor of `dims`, for tensor-info cases.
std::vector<uint8_t> one_tensor(std::vector<uint64_t> dims, uint32_t type = kF32,
                                uint64_t offset = 0, size_t data_bytes = 64) {
  RawGguf g;
  g.tensor("w", dims, type, offset);
  g.data.resize(data_bytes);
  return g.bytes();
}

TEST(GgufBadFiles, HandBuiltValidFilesParse) {
  RawGguf g;
  g.version = 2;  // v2 has the same layout as v3
  g.kv_string("general.architecture", "llama")
      .tensor("a", {4, 2}, kF32, 0)
      .tensor("b", {8}, kF32, 32);
  g.data.resize(64);
  auto f = File::parse(g.bytes());
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->version(), 2u);
  EXPECT_EQ(f->find_tensor("b")->n_bytes, 32u);
  RawGguf vocab_only;  // no tensors: a missing data-section padding is tolerated, as llama.cpp does
  vocab_only.pad_to = 1;
  vocab_only.kv_string("k", "v");
  EXPECT_TRUE(File::parse(vocab_only.bytes()).ok());
}

TEST(GgufBadFiles, EmptyFile) { expect_error({}, "file is empty, not a GGUF file"); }

TEST(GgufBadFiles, WrongMagic) {
  RawGguf g;
  g.magic = "GGML";
  expect_error(g.bytes(), "not a GGUF file: it starts with 'GGML', expected 'GGUF' (at byte 0)");
  g.magic = "PK\x03\x04";
  expect_error(g.bytes(), "it starts with 'PK\\x03\\x04'");
  expect_error({'G', 'G'}, "file ends inside the magic");
}

TEST(GgufBadFiles, UnsupportedVersions) {
  RawGguf g;
  g.version = 1;
  expect_error(g.bytes(), "GGUF version 1 is not supported (its counts are 32-bit)");
  g.version = 99;
  expect_error(g.bytes(),
               "unsupported GGUF version 99 (moxing reads versions 2 and 3) (at byte 4)");
  g.version = 0x03000000;
  expect_error(g.bytes(), "big-endian GGUF files are not supported");
}

TEST(GgufBadFiles, TruncatedAtEveryByte) {
  const std::vector<uint8_t> good = test::sample_writer().to_bytes();
  auto full = File::parse(good);
  ASSERT_TRUE(full.ok()) << full.error().message;
  uint64_t end = 0;  // end of the last tensor's data; only padding follows
  for (const TensorInfo& t : full->tensors())
    end = std::max(end, full->data_offset() + t.offset + t.n_bytes);
  ASSERT_LT(end, good.size());
  for (size_t n = 0; n < good.size(); ++n) {
    const std::vector<uint8_t> prefix(good.begin(), good.begin() + n);
    auto f = File::parse(prefix, "cut.gguf");
    // Like llama.cpp's loader, the padding after the last tensor may be missing.
    EXPECT_EQ(f.ok(), n >= end) << "prefix of " << n << " bytes";
    if (!f.ok()) EXPECT_EQ(f.error().message.rfind("cut.gguf: ", 0), 0u) << f.error().message;
  }
}

TEST(GgufBadFiles, HugeCountsAreRejectedBeforeAllocating) {
  RawGguf g;
  g.n_tensors_override = uint64_t{1} << 60;
  expect_error(g.bytes(),
               "n_tensors 1152921504606846976 cannot fit in the 8 bytes left (at byte 8)");
  g = RawGguf();
  g.n_kv_override = ~uint64_t{0};
  expect_error(g.bytes(), "n_kv 18446744073709551615 cannot fit in the 8 bytes left (at byte 16)");
  g = RawGguf();
  g.kv("k", kTypeArray, array_header(kTypeString, uint64_t{1} << 62));
  expect_error(g.bytes(),
               "key 'k': array of 4611686018427387904 string items cannot fit in the 15 bytes left "
               "(at byte 41)");
  g = RawGguf();
  g.kv("k", kTypeArray, array_header(0, ~uint64_t{0} >> 1));
  expect_error(g.bytes(), "array of 9223372036854775807 u8 items cannot fit in the 15 bytes left");
}

TEST(GgufBadFiles, HugeStringLengths) {
  RawGguf g;
  g.kv("k", kTypeString, bytes_of({uint64_t{1} << 62}));
  expect_error(g.bytes(),
               "key 'k': string length 4611686018427387904 runs past the end of the "
               "file (");
  g = RawGguf();
  g.kv(std::string(70000, 'k'), kTypeU32, bytes_of({0}));
  expect_error(g.bytes(), "key #0: key length 70000 exceeds the limit of 65535 (at byte 24)");
  g = RawGguf();
  g.tensor("w", {8}, kF32, 0);
  std::vector<uint8_t> b = g.bytes();
  b[24 + 7] = 0x40;  // the tensor name's length becomes 2^62 + 1
  expect_error(b, "tensor #0: tensor name length 4611686018427387905 exceeds the limit");
}

TEST(GgufBadFiles, UnknownValueTypes) {
  RawGguf g;
  g.kv("k", 13, bytes_of({0}));
  expect_error(g.bytes(), "key 'k': unknown value type 13 (at byte 33)");
  g = RawGguf();
  g.kv("k", kTypeArray, array_header(13, 0));
  expect_error(g.bytes(), "key 'k': unknown array element type 13 (at byte 37)");
}

TEST(GgufBadFiles, UnknownTensorType) {
  expect_error(one_tensor({8}, 99), "tensor 'w': unknown ggml type 99");
  expect_error(one_tensor({8}, 4), "unknown ggml type 4");  // Q4_2, removed from ggml long ago
}

TEST(GgufBadFiles, DimensionCounts) {
  expect_error(one_tensor({}), "tensor 'w': n_dims 0 is outside 1..4 (at byte 33)");
  expect_error(one_tensor({1, 1, 1, 1, 1}), "tensor 'w': n_dims 5 is outside 1..4");
}

TEST(GgufBadFiles, BadDimensions) {
  expect_error(one_tensor({4, 0}), "tensor 'w': ne[1] is 0; every dimension must be at least 1");
  expect_error(one_tensor({uint64_t{1} << 63}), "ne[0] = 9223372036854775808 is too large");
  expect_error(one_tensor({uint64_t{1} << 32, uint64_t{1} << 32}),
               "element count of dims [4294967296, 4294967296] overflows");
  expect_error(one_tensor({uint64_t{1} << 62}),
               "byte size of dims [4611686018427387904] overflows");
  expect_error(one_tensor({33}, kQ8_0),
               "row length ne[0] = 33 is not a multiple of the Q8_0 block size 32");
}

TEST(GgufBadFiles, MisalignedOffset) {
  expect_error(one_tensor({4}, kF32, 16),
               "tensor 'w': offset 16 is not a multiple of the alignment 32");
  RawGguf g;
  g.kv_scalar("general.alignment", kTypeU32, uint32_t{64}).tensor("w", {4}, kF32, 32);
  g.data.resize(64);
  expect_error(g.bytes(), "offset 32 is not a multiple of the alignment 64");
}

TEST(GgufBadFiles, DataPastTheEnd) {
  expect_error(one_tensor({32}, kF32, 0, 127),
               "tensor 'w': data at offset 0 (128 bytes) runs past the end of the file "
               "(the data section holds 127 bytes)");
  expect_error(one_tensor({4}, kF32, uint64_t{1} << 40), "runs past the end of the file");
  expect_error(one_tensor({4}, kF32, ~uint64_t{31}), "runs past the end of the file");  // no wrap
}

TEST(GgufBadFiles, OverlappingTensors) {
  RawGguf g;
  g.tensor("a", {16}, kF32, 0).tensor("b", {16}, kF32, 32);
  g.data.resize(128);
  expect_error(g.bytes(), "tensors 'a' (offset 0, 64 bytes) and 'b' (offset 32) overlap");
  RawGguf same;
  same.tensor("a", {4}, kF32, 32).tensor("b", {4}, kF32, 32);
  same.data.resize(64);
  expect_error(same.bytes(), "overlap");
}

TEST(GgufBadFiles, BadAlignmentValues) {
  for (uint32_t a : {0u, 3u, 48u}) {
    RawGguf g;
    g.kv_scalar("general.alignment", kTypeU32, a);
    expect_error(g.bytes(), fmt::format("key 'general.alignment': alignment {} is not a nonzero "
                                        "power of two (at byte 53)",
                                        a));
  }
  RawGguf g;
  g.kv_scalar("general.alignment", kTypeI32, int32_t{32});
  expect_error(g.bytes(), "alignment has type i32, expected u32");
}

TEST(GgufBadFiles, DuplicateNames) {
  RawGguf g;
  g.kv_string("a", "x").kv_string("b", "y").kv_string("a", "z");
  expect_error(g.bytes(), "key 'a': duplicate key");
  RawGguf t;
  t.tensor("w", {8}, kF32, 0).tensor("w", {8}, kF32, 32);
  t.data.resize(64);
  expect_error(t.bytes(), "tensor 'w': duplicate tensor name");
}

TEST(GgufBadFiles, EmptyNames) {
  RawGguf g;
  g.kv_string("", "x");
  expect_error(g.bytes(), "key #0: empty key (at byte 24)");
  RawGguf t;
  t.tensor("", {8}, kF32, 0);
  t.data.resize(32);
  expect_error(t.bytes(), "tensor #0: empty tensor name");
}

// An array value nested `depth` levels deep, an empty u8 array at the bottom.
std::vector<uint8_t> nested_payload(int depth) {
  std::vector<uint8_t> p;
  for (int i = 1; i < depth; ++i) {
    RawGguf::put(p, kTypeArray);
    RawGguf::put(p, uint64_t{1});
  }
  RawGguf::put(p, uint32_t{0});
  RawGguf::put(p, uint64_t{0});
  return p;
}

TEST(GgufBadFiles, DeeplyNestedArrays) {
  RawGguf ok;
  ok.kv("k", kTypeArray, nested_payload(8));
  EXPECT_TRUE(File::parse(ok.bytes()).ok());
  RawGguf g;
  g.kv("k", kTypeArray, nested_payload(9));
  expect_error(g.bytes(), "key 'k': arrays nested deeper than 8 levels");
  RawGguf deep;  // deep enough to overflow the stack if depth were unchecked
  deep.kv("k", kTypeArray, nested_payload(100000));
  expect_error(deep.bytes(), "nested deeper than 8");
}

TEST(GgufBadFiles, BoolOtherThanZeroOrOne) {
  RawGguf g;
  g.kv_scalar("k", kTypeBool, uint8_t{2});
  expect_error(g.bytes(), "key 'k': bool value 2 is neither 0 nor 1 (at byte 37)");
}

// A few thousand corrupted copies of a valid file: each parses or fails, never crashes.
TEST(GgufBadFiles, RandomByteFlipsNeverCrash) {
  const std::vector<uint8_t> good = test::sample_writer().to_bytes();
  auto base = File::parse(good);
  ASSERT_TRUE(base.ok());
  const size_t header = base->data_offset();
  std::mt19937 rng(20240817);
  int parsed = 0;
  for (int iter = 0; iter < 5000; ++iter) {
    std::vector<uint8_t> b = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) {
      // Mostly the header, where corruption matters; the data section only carries bytes.
      const size_t pos = rng() % (iter % 4 == 0 ? b.size() : header);
      switch (rng() % 3) {
        case 0: b[pos] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 1: b[pos] = static_cast<uint8_t>(rng()); break;
        default: b[pos] = 0xFF; break;
      }
    }
    if (iter % 16 == 0) b.resize(rng() % b.size());
    auto f = File::parse(b, "flipped.gguf");
    if (f) {
      ++parsed;
      test::walk(*f);
    } else {
      EXPECT_FALSE(f.error().message.empty());
    }
  }
  EXPECT_GT(parsed, 0);  // some flips only change values and must still parse
}

}  // namespace
}  // namespace mx::gguf
