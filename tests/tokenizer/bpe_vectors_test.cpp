// llama.cpp's test-tokenizer-0 vectors for every byte-level BPE vocabulary in
// ../shared/tokenizer: ids exactly as llama.cpp gives them (no BOS, specials as text),
// and decode(encode(s)) == s.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tokenizer/fixtures.h"

namespace mx {
namespace {

using test::read_vectors;
using test::Vector;

std::string vocab_path(const std::string& name) { return "tokenizer/ggml-vocab-" + name + ".gguf"; }

class BpeVectors : public ::testing::TestWithParam<const char*> {};

TEST_P(BpeVectors, EncodeExactlyAndRoundTrip) {
  const std::string rel = vocab_path(GetParam());
  const Tokenizer* t = test::shared_tokenizer(rel);
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->vocab().kind(), VocabKind::kBpe);
  const std::vector<Vector> vectors = read_vectors(rel);
  ASSERT_EQ(vectors.size(), 46u);
  int encoded = 0, round_trips = 0;
  for (const Vector& v : vectors) {
    const std::vector<Token> got = t->encode(v.text, /*add_special=*/false, /*parse_special=*/false);
    EXPECT_EQ(got, v.ids) << "text: '" << v.text << "'\ngot:  " << testing::PrintToString(test::texts(*t, got))
                          << "\nwant: " << testing::PrintToString(test::texts(*t, v.ids));
    encoded += got == v.ids;
    // Byte-level BPE loses nothing: the expected ids decode to the text itself.
    const std::string back = t->decode(v.ids);
    EXPECT_EQ(back, v.text);
    round_trips += back == v.text;
  }
  std::printf("[ vectors  ] %s: %d/%zu encoded exactly, %d/%zu round-trip\n", GetParam(), encoded,
              vectors.size(), round_trips, vectors.size());
}

TEST_P(BpeVectors, ConstTokenizerIsSharedAcrossThreads) {
  const std::string rel = vocab_path(GetParam());
  const Tokenizer* t = test::shared_tokenizer(rel);
  ASSERT_NE(t, nullptr);
  const std::vector<Vector> vectors = read_vectors(rel);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 3; ++round)
        for (const Vector& v : vectors) mismatches[i] += t->encode(v.text, false, false) != v.ids;
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

INSTANTIATE_TEST_SUITE_P(Vocabs, BpeVectors,
                         ::testing::Values("gpt-2", "llama-bpe", "qwen2", "deepseek-llm", "deepseek-coder",
                                           "falcon", "mpt", "refact", "starcoder"),
                         [](const testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

// Vectors shipped without their vocabulary (files of 4 MiB or more were not in the
// reference tree): they cannot run. Counted and reported, never as passed.
TEST(BpeVectors, VectorsWithoutVocabularyAreReported) {
  for (const char* name : {"command-r", "gemma-4", "qwen35"}) {
    const std::string rel = vocab_path(name);
    ASSERT_TRUE(std::filesystem::exists(test::shared_path(rel + ".inp"))) << rel;
    if (std::filesystem::exists(test::shared_path(rel))) {
      ADD_FAILURE() << rel << " exists now: add it to the BpeVectors list";
      continue;
    }
    const size_t n = read_vectors(rel).size();
    std::printf("[ vectors  ] %s: 0/%zu run (NOT RUNNABLE: %s is not in ../shared)\n", name, n, rel.c_str());
  }
}

}  // namespace
}  // namespace mx
