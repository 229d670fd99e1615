// The reference files in ../shared, written by llama.cpp and gguf-py, parse and read right.
#include <gtest/gtest.h>

#include <filesystem>

#include "gguf/gguf_file.h"
#include "sample_files.h"
#include "test_paths.h"

namespace mx::gguf {
namespace {

TEST(GgufRealFiles, Stories260K) {
  auto f = File::open(test::shared_path("models/stories260K.gguf"));
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_EQ(f->get_int("llama.embedding_length"), 64);
  EXPECT_EQ(f->get_int("llama.block_count"), 5);
  EXPECT_EQ(f->get_float("llama.attention.layer_norm_rms_epsilon").value_or(0), 1e-5f);
  const Array* tokens = f->get_array("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->elem_type, ValueType::kString);
  ASSERT_EQ(tokens->items.size(), 512u);
  EXPECT_EQ(*tokens->items[3].as_string(), "<0x00>");  // byte tokens start at 3

  const TensorInfo* embd = f->find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->dims, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(embd->type, GgmlType::kF32);
  EXPECT_EQ(embd->n_bytes, 64u * 512 * 4);
  EXPECT_EQ(embd->n_rows(), 512);
  EXPECT_EQ(f->data_offset() % f->alignment(), 0u);
  for (const TensorInfo& t : f->tensors())
    EXPECT_LE(f->data_offset() + t.offset + t.n_bytes, f->file_size()) << t.name;
  EXPECT_GT(test::walk(*f), 0u);
}

TEST(GgufRealFiles, QuantizedStories) {
  auto f = File::open(test::shared_path("models/stories260K-Q8_0.gguf"));
  ASSERT_TRUE(f.ok()) << f.error().message;
  size_t q8 = 0, f16 = 0;
  for (const TensorInfo& t : f->tensors()) {
    q8 += t.type == GgmlType::kQ8_0;
    f16 += t.type == GgmlType::kF16;
  }
  EXPECT_EQ(q8, 32u);  // see README-data.md: ffn_down stays F16
  EXPECT_EQ(f16, 5u);
}

// Every file of a directory with the given extension, sorted, so failures name a file.
std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(test::shared_path(dir)))
    if (e.path().extension() == ".gguf") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(GgufRealFiles, EveryTinyModelParses) {
  const std::vector<std::string> files = files_in("models/tiny");
  EXPECT_GE(files.size(), 30u);
  for (const std::string& path : files) {
    auto f = File::open(path);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_FALSE(f->tensors().empty()) << path;
    EXPECT_NE(f->find_tensor("token_embd.weight"), nullptr) << path;
    EXPECT_TRUE(f->get_string("general.architecture").has_value()) << path;
    test::walk(*f);
  }
}

TEST(GgufRealFiles, EveryVocabularyParses) {
  const std::vector<std::string> files = files_in("tokenizer");
  EXPECT_GE(files.size(), 10u);
  for (const std::string& path : files) {
    auto f = File::open(path);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_TRUE(f->tensors().empty()) << path;  // vocab-only
    ASSERT_NE(f->get_array("tokenizer.ggml.tokens"), nullptr) << path;
    EXPECT_FALSE(f->get_array("tokenizer.ggml.tokens")->items.empty()) << path;
    test::walk(*f);
  }
}

TEST(GgufRealFiles, MissingFileIsAnError) {
  auto f = File::open(test::shared_path("models/no-such-model.gguf"));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("no-such-model.gguf"), std::string::npos);
}

}  // namespace
}  // namespace mx::gguf
