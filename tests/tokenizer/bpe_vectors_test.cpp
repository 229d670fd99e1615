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
  const Tokenizer* t = test::shared_tokenizer(vocab_path(GetParam()));
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->vocab().kind(), VocabKind::kBpe);
  // Byte-level BPE loses nothing: the expected ids decode to the text itself.
  test::expect_vectors_pass(vocab_path(GetParam()));
}

TEST_P(BpeVectors, ConstTokenizerIsSharedAcrossThreads) {
  test::expect_shared_across_threads(vocab_path(GetParam()), 3);
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
