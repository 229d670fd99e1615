// Vocabularies read from GGUF metadata: the real files in ../shared, and hand-built
// files with broken tokenizer metadata.
#include <gtest/gtest.h>

#include <cstring>

#include "tokenizer/fixtures.h"

namespace mx {
namespace {

// Metadata-only GGUF v3 bytes, written by hand so these tests do not depend on the writer.
class GgufBytes {
 public:
  GgufBytes& str(std::string_view key, std::string_view value) {
    begin(key, 8);
    put_str(value);
    return *this;
  }
  GgufBytes& u32(std::string_view key, uint32_t value) {
    begin(key, 4);
    put(value);
    return *this;
  }
  GgufBytes& boolean(std::string_view key, bool value) {
    begin(key, 7);
    put(static_cast<uint8_t>(value));
    return *this;
  }
  GgufBytes& strings(std::string_view key, const std::vector<std::string>& items) {
    begin(key, 9);
    put(uint32_t{8});
    put(static_cast<uint64_t>(items.size()));
    for (const std::string& s : items) put_str(s);
    return *this;
  }
  template <class T>
  GgufBytes& numbers(std::string_view key, uint32_t type, const std::vector<T>& items) {
    begin(key, 9);
    put(type);
    put(static_cast<uint64_t>(items.size()));
    for (T v : items) put(v);
    return *this;
  }
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out;
    auto add = [&](const void* p, size_t n) {
      out.insert(out.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
    };
    add("GGUF", 4);
    const uint32_t version = 3;
    const uint64_t n_tensors = 0;
    add(&version, 4);
    add(&n_tensors, 8);
    add(&n_kv_, 8);
    out.insert(out.end(), body_.begin(), body_.end());
    out.resize((out.size() + 31) / 32 * 32, 0);  // the (empty) data section is aligned
    return out;
  }

 private:
  template <class T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    body_.insert(body_.end(), p, p + sizeof(T));
  }
  void put_str(std::string_view s) {
    put(static_cast<uint64_t>(s.size()));
    body_.insert(body_.end(), s.begin(), s.end());
  }
  void begin(std::string_view key, uint32_t type) {
    ++n_kv_;
    put_str(key);
    put(type);
  }
  std::vector<uint8_t> body_;
  uint64_t n_kv_ = 0;
};

// A valid five-token vocabulary; keys are unique, so tests add the broken one themselves.
GgufBytes good_vocab(std::string_view model = "llama", bool with_types = true) {
  GgufBytes g;
  g.str("tokenizer.ggml.model", model)
      .strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "<0x0A>", "\xE2\x96\x81hi"})
      .numbers<float>("tokenizer.ggml.scores", 6, {0, 0, 0, 0, -1});
  if (with_types) g.numbers<int32_t>("tokenizer.ggml.token_type", 5, {2, 3, 3, 6, 1});
  return g;
}

// Parses the bytes and builds the vocabulary; the error message, or "" on success.
std::string load_error(const GgufBytes& g) {
  const std::vector<uint8_t> bytes = g.bytes();
  auto file = gguf::File::parse(bytes, "test.gguf");
  if (!file) return "parse: " + file.error().message;
  auto v = Vocab::from_gguf(*file);
  return v ? "" : v.error().message;
}

TEST(VocabGguf, HandBuiltFile) {
  GgufBytes g = good_vocab();
  g.u32("tokenizer.ggml.eos_token_id", 4).boolean("tokenizer.ggml.add_space_prefix", false);
  const std::vector<uint8_t> bytes = g.bytes();
  auto file = gguf::File::parse(bytes, "test.gguf");
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto v = Vocab::from_gguf(*file);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->size(), 5);
  EXPECT_EQ(v->eos(), 4);
  EXPECT_FALSE(v->add_space_prefix());
  EXPECT_EQ(v->byte_token('\n'), 3);
  EXPECT_EQ(v->find("\xE2\x96\x81hi"), 4);
}

TEST(VocabGguf, BrokenMetadataIsAnError) {
  auto expect = [](const GgufBytes& g, const std::string& fragment) {
    const std::string err = load_error(g);
    EXPECT_NE(err.find(fragment), std::string::npos) << "got: '" << err << "'";
    EXPECT_NE(err.find("test.gguf"), std::string::npos) << err;  // errors name the file
  };
  GgufBytes g;
  g.strings("tokenizer.ggml.tokens", {"a"});
  expect(g, "tokenizer.ggml.model is missing");
  g = GgufBytes();
  g.str("tokenizer.ggml.model", "llama");
  expect(g, "tokenizer.ggml.tokens is missing or empty");
  g = GgufBytes();
  g.str("tokenizer.ggml.model", "llama").str("tokenizer.ggml.tokens", "a");
  expect(g, "tokenizer.ggml.tokens is a string, expected an array");
  g = GgufBytes();
  g.str("tokenizer.ggml.model", "llama").numbers<int32_t>("tokenizer.ggml.tokens", 5, {1, 2});
  expect(g, "tokenizer.ggml.tokens holds i32 items, expected string");
  g = good_vocab("llama", /*with_types=*/false);
  g.numbers<float>("tokenizer.ggml.token_type", 6, {1, 1, 1, 1, 1});
  expect(g, "tokenizer.ggml.token_type holds f32 items");
  g = GgufBytes();
  g.str("tokenizer.ggml.model", "llama")
      .strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>"})
      .numbers<float>("tokenizer.ggml.scores", 6, {0, 0});
  expect(g, "tokenizer.ggml.scores has 2 entries for 3 tokens");
  g = good_vocab();
  g.str("tokenizer.ggml.bos_token_id", "1");
  expect(g, "tokenizer.ggml.bos_token_id is a string, expected an integer");
  g = good_vocab();
  g.u32("tokenizer.ggml.unknown_token_id", 77);
  expect(g, "UNK (tokenizer.ggml.unknown_token_id) id 77 is outside the vocabulary of 5 tokens");
  g = good_vocab();
  g.u32("tokenizer.ggml.add_bos_token", 1);
  expect(g, "tokenizer.ggml.add_bos_token is a u32, expected a bool");
  expect(good_vocab("t5"), "unsupported tokenizer model 't5'");
  // BERT needs [CLS] (default id 101) for its BOS: five tokens cannot have it.
  expect(good_vocab("bert"), "BOS");
}

TEST(VocabGguf, LlamaSpm) {
  auto file = gguf::File::open(test::shared_path(test::kLlamaSpm));
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto v = Vocab::from_gguf(*file);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->size(), 32000);
  EXPECT_EQ(v->bos(), 1);
  EXPECT_EQ(v->eos(), 2);
  EXPECT_EQ(v->unk(), 0);
  EXPECT_TRUE(v->add_bos());
  EXPECT_FALSE(v->add_eos());
  EXPECT_TRUE(v->add_space_prefix());
  EXPECT_EQ(v->find("\xE2\x96\x81" "Hello"), 15043);
  EXPECT_FLOAT_EQ(v->score(15043), -14784.0f);
  EXPECT_EQ(v->byte_token(0x0A), 13);
  EXPECT_EQ(v->type(0), TokenType::kUnknown);
  EXPECT_EQ(v->type(1), TokenType::kControl);
  EXPECT_EQ(v->special_tokens().size(), 3u);
}

TEST(VocabGguf, Phi3) {
  auto file = gguf::File::open(test::shared_path(test::kPhi3));
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto v = Vocab::from_gguf(*file);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->size(), 32064);
  EXPECT_EQ(v->eos(), 32000);
  EXPECT_EQ(v->pad(), 32000);
  EXPECT_TRUE(v->is_eog(32000));  // <|endoftext|>
  EXPECT_TRUE(v->is_eog(32007));  // <|end|>
  EXPECT_EQ(v->type(2), TokenType::kUserDefined);  // </s>
  // General.name "Phi3": its special tokens eat the whitespace after them.
  EXPECT_TRUE(v->info(32007).rstrip);
  EXPECT_TRUE(v->info(2).rstrip);
  EXPECT_FALSE(v->info(1).rstrip);
  EXPECT_FALSE(v->info(32000).rstrip);
}

TEST(VocabGguf, Stories260K) {
  auto file = gguf::File::open(test::shared_path(test::kStories));
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto v = Vocab::from_gguf(*file);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->size(), 512);
  EXPECT_EQ(v->pad(), kNoToken);  // stored as 0xFFFFFFFF
  EXPECT_TRUE(v->add_bos());      // no key: the SPM default
  EXPECT_EQ(v->byte_token(0), 3);
  EXPECT_EQ(v->byte_token(0xFF), 258);
}

}  // namespace
}  // namespace mx
