#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "tokenizer/fixtures.h"
#include "tokenizer/stream_decoder.h"
#include "core/utf8.h"

namespace mx {
namespace {

const std::string R(utf8::kReplacement);

size_t count(const std::string& s, std::string_view what) {
  size_t n = 0;
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + what.size())) ++n;
  return n;
}

// Streams `ids` and checks every chunk; returns the concatenated text.
std::string stream_all(const Tokenizer& t, const std::vector<Token>& ids, StreamOptions options,
                       bool allow_replacement = false) {
  StreamDecoder d(t, options);
  std::string all;
  for (Token id : ids) {
    const std::string chunk = d.push(id);
    EXPECT_TRUE(utf8::is_valid(chunk));
    if (!allow_replacement) {
      EXPECT_EQ(count(chunk, R), 0u) << "token " << id;
    }
    all += chunk;
  }
  const std::string tail = d.flush();
  EXPECT_TRUE(utf8::is_valid(tail));
  return all + tail;
}

TEST(StreamDecoder, ChineseAndEmojiThroughByteFallback) {
  const Tokenizer* t = test::shared_tokenizer(test::kLlamaSpm);
  ASSERT_NE(t, nullptr);
  // The first is all in the vocabulary; the others need byte fallback.
  const std::string texts[] = {"我想在apple工作1314151天～", "数据科学 🦙🚀😶‍🌫️ ✅", "កាន់តែពិសេសអាចខលចេញ",
                               "Cửa Việt 😁 ?", "大模型已经成为了各行各业的核心技术"};
  for (const std::string& text : texts) {
    const std::vector<Token> ids = t->encode(text, false, false);
    const bool bytes = std::any_of(ids.begin(), ids.end(), [&](Token id) { return t->vocab().is_byte(id); });
    EXPECT_EQ(bytes, &text != &texts[0]) << text;
    EXPECT_EQ(stream_all(*t, ids, {.strip_space_prefix = true}), t->decode(ids));
    EXPECT_EQ(stream_all(*t, ids, {.strip_space_prefix = true}), text);
    EXPECT_EQ(stream_all(*t, ids, {}), " " + text);  // a continuation keeps its space
  }
}

TEST(StreamDecoder, EmojiBytesAreHeldUntilComplete) {
  const Tokenizer* t = test::shared_tokenizer(test::kLlamaSpm);
  ASSERT_NE(t, nullptr);
  const std::string emoji = "\xF0\x9F\xA6\x99";  // 🦙, not in the vocabulary
  StreamDecoder d(*t);
  EXPECT_EQ(d.push(t->vocab().byte_token(0xF0)), "");
  EXPECT_EQ(d.push(t->vocab().byte_token(0x9F)), "");
  EXPECT_EQ(d.push(t->vocab().byte_token(0xA6)), "");
  EXPECT_EQ(d.push(t->vocab().byte_token(0x99)), emoji);
  EXPECT_EQ(d.flush(), "");
}

TEST(StreamDecoder, EmojiSplitAcrossMultiByteTokens) {
  // Token texts that cut a character, as byte-level BPE pieces do.
  const std::string e = "\xF0\x9F\x98\x80";  // 😀
  for (size_t cut = 1; cut < 4; ++cut) {
    VocabSpec s = test::small_spec({{"a", -1}, {e.substr(0, cut), -1}, {e.substr(cut), -1}});
    auto t = test::make_tokenizer(s);
    StreamDecoder d(*t);
    EXPECT_EQ(d.push(259), "a");
    EXPECT_EQ(d.push(260), "") << cut;
    EXPECT_EQ(d.push(261), e) << cut;
    EXPECT_EQ(d.push(259), "a");
    // Split 1+3, 2+2, 3+1 through byte tokens mixed with a multi-byte piece.
    StreamDecoder d2(*t);
    std::string got;
    for (size_t i = 0; i < cut; ++i) got += d2.push(3 + static_cast<uint8_t>(e[i]));
    EXPECT_EQ(got, "");
    EXPECT_EQ(d2.push(261), e);
    EXPECT_EQ(d2.flush(), "");
  }
}

TEST(StreamDecoder, InvalidBytesAreReplacedOnceAndAtOnce) {
  auto t = test::make_tokenizer(test::small_spec({{"a", -1}, {"b", -1}}));
  auto byte = [](uint8_t b) { return Token{3 + b}; };
  StreamDecoder d(*t);
  EXPECT_EQ(d.push(259), "a");
  EXPECT_EQ(d.push(byte(0x80)), R);  // stray continuation: replaced immediately
  EXPECT_EQ(d.push(260), "b");
  EXPECT_EQ(d.push(byte(0x80)), R);
  EXPECT_EQ(d.push(byte(0xBF)), R);
  EXPECT_EQ(d.push(byte(0xE6)), "");     // may still become a character
  EXPECT_EQ(d.push(259), R + "a");        // it cannot any more
  EXPECT_EQ(d.push(byte(0xE6)), "");
  EXPECT_EQ(d.push(byte(0x95)), "");
  EXPECT_EQ(d.push(byte(0xE6)), R);       // a new lead byte ends the old prefix
  EXPECT_EQ(d.push(byte(0x95)), "");
  EXPECT_EQ(d.push(byte(0xB0)), "数");
  EXPECT_EQ(d.push(byte(0xC0)), R);       // never valid in UTF-8
  EXPECT_EQ(d.push(byte(0xF0)), "");
  EXPECT_EQ(d.flush(), R);                // unfinished at the end
  d.reset();
  EXPECT_EQ(d.push(260), "b");
}

TEST(StreamDecoder, GeneratedTextCutInsideACharacterDropsIt) {
  auto t = test::make_tokenizer(test::small_spec({{"a", -1}, {"b", -1}}));
  auto byte = [](uint8_t b) { return Token{3 + b}; };
  StreamDecoder d(*t, {.drop_unfinished_tail = true});
  EXPECT_EQ(d.push(259), "a");
  EXPECT_EQ(d.push(byte(0xE6)), "");
  EXPECT_EQ(d.push(byte(0x95)), "");
  EXPECT_EQ(d.flush(), "");  // the length limit came before the character's last byte
  EXPECT_EQ(d.push(byte(0x80)), R);  // ill-formed bytes mid-text are still replaced at once
  EXPECT_EQ(d.push(260), "b");
}

TEST(StreamDecoder, ControlTokensAndSpacePrefix) {
  const Tokenizer* t = test::shared_tokenizer(test::kLlamaSpm);
  ASSERT_NE(t, nullptr);
  const std::vector<Token> ids = t->encode("Hello world", true, false);  // <s> ▁Hello ▁world
  EXPECT_EQ(stream_all(*t, ids, {}), " Hello world");
  EXPECT_EQ(stream_all(*t, ids, {.strip_space_prefix = true}), " Hello world");  // BOS came first
  EXPECT_EQ(stream_all(*t, ids, {.render_special = true}), "<s> Hello world");
  const std::vector<Token> body(ids.begin() + 1, ids.end());
  EXPECT_EQ(stream_all(*t, body, {.strip_space_prefix = true}), "Hello world");
}

// The seeds are LLM output whose broken characters were already replaced with U+FFFD.
std::vector<std::string> seed_files() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(test::shared_path("seeds")))
    if (e.path().extension() == ".txt") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(StreamDecoder, SeedDocumentsStreamUnchanged) {
  const Tokenizer* t = test::shared_tokenizer(test::kLlamaSpm);
  ASSERT_NE(t, nullptr);
  const std::vector<std::string> files = seed_files();
  ASSERT_EQ(files.size(), 2u);
  for (const std::string& path : files) {
    const std::string text = test::read_text_file(path);
    ASSERT_TRUE(utf8::is_valid(text)) << path;
    const std::vector<Token> ids = t->encode(text, false, false);
    // No U+FFFD is added: the stream reproduces the document byte for byte.
    const std::string streamed = stream_all(*t, ids, {.strip_space_prefix = true}, true);
    EXPECT_EQ(streamed, text) << path;
    EXPECT_EQ(count(streamed, R), count(text, R)) << path;
  }
}

TEST(StreamDecoder, SeedWithBrokenCharactersRestored) {
  // Put back what the model most likely produced: "率" cut after two of its three bytes
  // wherever the seed shows U+FFFD. Streaming must give exactly one U+FFFD for each.
  const Tokenizer* t = test::shared_tokenizer(test::kLlamaSpm);
  ASSERT_NE(t, nullptr);
  for (const std::string& path : seed_files()) {
    const std::string text = test::read_text_file(path);
    std::string raw;
    for (size_t pos = 0; pos < text.size();) {
      if (text.compare(pos, R.size(), R) == 0) {
        raw += "\xE7\x8E";
        pos += R.size();
      } else {
        raw += text[pos++];
      }
    }
    const std::vector<Token> ids = t->encode(raw, false, false);
    EXPECT_EQ(t->decode(ids), raw);
    EXPECT_EQ(stream_all(*t, ids, {.strip_space_prefix = true}, true), text) << path;
  }
}

TEST(StreamDecoder, RandomIdsMatchSanitizedDecode) {
  const Tokenizer* t = test::shared_tokenizer(test::kLlamaSpm);
  ASSERT_NE(t, nullptr);
  std::mt19937 rng(1234);
  // Byte tokens are 3..258: draw many of them so characters get split and broken.
  std::uniform_int_distribution<Token> any(0, t->vocab().size() - 1), bytes(3, 258);
  for (int round = 0; round < 200; ++round) {
    std::vector<Token> ids(rng() % 40);
    for (Token& id : ids) id = rng() % 3 == 0 ? any(rng) : bytes(rng);
    EXPECT_EQ(stream_all(*t, ids, {}, true), utf8::sanitize(t->decode(ids, {.strip_space_prefix = false})));
  }
}

}  // namespace
}  // namespace mx
