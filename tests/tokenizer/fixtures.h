// Shared helpers for the tokenizer tests: real vocabularies from ../shared (loaded
// once per test binary) and small hand-made ones.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <cstdio>
#include <sstream>
#include <thread>
#include <string>
#include <utility>
#include <vector>

#include "gguf/gguf_file.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace mx::test {

inline const char* kLlamaSpm = "tokenizer/ggml-vocab-llama-spm.gguf";
inline const char* kPhi3 = "tokenizer/ggml-vocab-phi-3.gguf";
inline const char* kStories = "models/stories260K.gguf";

// Loaded once: the 32k vocabularies take a while to parse under sanitizers. Null (and a
// recorded failure) when the file cannot be read.
inline const Tokenizer* shared_tokenizer(const std::string& rel) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[rel];
  if (!slot) {
    auto file = gguf::File::open(shared_path(rel));
    if (!file) {
      ADD_FAILURE() << file.error().message;
      return nullptr;
    }
    auto tok = Tokenizer::from_gguf(*file);
    if (!tok) {
      ADD_FAILURE() << tok.error().message;
      return nullptr;
    }
    slot = std::move(*tok);
  }
  return slot.get();
}

// llama.cpp's test-tokenizer-0 vectors: the .inp strings split on the separator (a
// trailing separator adds no empty case), one .out line of ids per string.
struct Vector {
  std::string text;
  std::vector<Token> ids;
};

inline std::vector<Vector> read_vectors(const std::string& vocab_rel) {
  const std::string inp = read_text_file(shared_path(vocab_rel + ".inp"));
  const std::string outp = read_text_file(shared_path(vocab_rel + ".out"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> strings;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      strings.push_back(inp.substr(pos));
      break;
    }
    strings.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<Vector> out;
  size_t line_start = 0;
  for (const std::string& s : strings) {
    const size_t line_end = outp.find('\n', line_start);
    std::istringstream line(outp.substr(line_start, line_end - line_start));
    Vector v{s, {}};
    for (Token id; line >> id;) v.ids.push_back(id);
    out.push_back(std::move(v));
    line_start = line_end == std::string::npos ? outp.size() : line_end + 1;
  }
  return out;
}

// <unk> 0, <s> 1, </s> 2, optional byte tokens <0x00>..<0xFF>, then `normal` in order.
inline VocabSpec small_spec(const std::vector<std::pair<std::string, float>>& normal,
                            bool byte_tokens = true) {
  VocabSpec s;
  s.tokens = {"<unk>", "<s>", "</s>"};
  s.types = {2, 3, 3};
  if (byte_tokens) {
    for (int b = 0; b < 256; ++b) {
      s.tokens.push_back(fmt::format("<0x{:02X}>", b));
      s.types.push_back(6);
    }
  }
  s.scores.assign(s.tokens.size(), 0.0f);
  for (const auto& [text, score] : normal) {
    s.tokens.push_back(text);
    s.scores.push_back(score);
    s.types.push_back(1);
  }
  return s;
}

inline std::unique_ptr<Tokenizer> make_tokenizer(VocabSpec spec) {
  auto vocab = Vocab::create(std::move(spec));
  EXPECT_TRUE(vocab.ok()) << vocab.error().message;
  auto tok = Tokenizer::create(std::move(*vocab));
  EXPECT_TRUE(tok.ok()) << tok.error().message;
  return std::move(*tok);
}

// The texts of the ids, for readable failures.
inline std::vector<std::string> texts(const Tokenizer& t, const std::vector<Token>& ids) {
  std::vector<std::string> out;
  for (Token id : ids) out.push_back(t.vocab().contains(id) ? t.vocab().text(id) : "?");
  return out;
}

// Runs llama.cpp's test vectors of one vocabulary: every text must encode to exactly the
// expected ids (no BOS, specials as text) and those ids must decode back to the text.
inline void expect_vectors_pass(const std::string& vocab_rel) {
  const Tokenizer* t = shared_tokenizer(vocab_rel);
  ASSERT_NE(t, nullptr);
  const std::vector<Vector> vectors = read_vectors(vocab_rel);
  ASSERT_EQ(vectors.size(), 46u);
  int encoded = 0, round_trips = 0;
  for (const Vector& v : vectors) {
    const std::vector<Token> got = t->encode(v.text, /*add_special=*/false, /*parse_special=*/false);
    EXPECT_EQ(got, v.ids) << "text: '" << v.text << "'\ngot:  " << testing::PrintToString(texts(*t, got))
                          << "\nwant: " << testing::PrintToString(texts(*t, v.ids));
    encoded += got == v.ids;
    const std::string back = t->decode(v.ids);
    EXPECT_EQ(back, v.text);
    round_trips += back == v.text;
  }
  std::printf("[ vectors  ] %s: %d/%zu encoded exactly, %d/%zu round-trip\n", vocab_rel.c_str(),
              encoded, vectors.size(), round_trips, vectors.size());
}

// One const tokenizer used from four threads at once gives every vector's ids each time.
inline void expect_shared_across_threads(const std::string& vocab_rel, int rounds) {
  const Tokenizer* t = shared_tokenizer(vocab_rel);
  ASSERT_NE(t, nullptr);
  const std::vector<Vector> vectors = read_vectors(vocab_rel);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < rounds; ++round)
        for (const Vector& v : vectors) mismatches[i] += t->encode(v.text, false, false) != v.ids;
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

}  // namespace mx::test
