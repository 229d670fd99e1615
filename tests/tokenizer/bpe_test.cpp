// Byte-level BPE: the byte map, merges on hand-made vocabularies, the pre-tokenizer
// table, long inputs, ill-formed UTF-8, special tokens and streaming with real vocabularies.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "tokenizer/byte_map.h"
#include "tokenizer/fixtures.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/stream_decoder.h"
#include "core/utf8.h"

namespace mx {
namespace {

using test::texts;

const char* kGpt2 = "tokenizer/ggml-vocab-gpt-2.gguf";
const char* kLlama3 = "tokenizer/ggml-vocab-llama-bpe.gguf";
const char* kQwen2 = "tokenizer/ggml-vocab-qwen2.gguf";

TEST(ByteMap, PrintableBytesStandForThemselvesOthersMove) {
  EXPECT_EQ(byte_map::char_of('a'), "a");
  EXPECT_EQ(byte_map::char_of('!'), "!");
  EXPECT_EQ(byte_map::char_of(' '), "\xC4\xA0");   // 'Ġ' U+0120
  EXPECT_EQ(byte_map::char_of('\n'), "\xC4\x8A");  // 'Ċ' U+010A
  EXPECT_EQ(byte_map::char_of(0x00), "\xC4\x80");  // U+0100
  EXPECT_EQ(byte_map::char_of(0xAD), "\xC5\x83");  // the last moved byte: U+0143
  EXPECT_EQ(byte_map::char_of(0xE9), "\xC3\xA9");  // 'é' is Latin-1 printable
  std::set<std::string_view> seen;
  for (int b = 0; b < 256; ++b) {
    const std::string_view c = byte_map::char_of(static_cast<uint8_t>(b));
    EXPECT_TRUE(utf8::is_valid(c));
    EXPECT_TRUE(seen.insert(c).second) << b;
    uint32_t cp = static_cast<uint8_t>(c[0]);
    if (c.size() == 2) cp = (cp & 0x1F) << 6 | (static_cast<uint8_t>(c[1]) & 0x3F);
    EXPECT_EQ(byte_map::byte_of(cp), b);
  }
  EXPECT_EQ(byte_map::byte_of(0x144), -1);
  EXPECT_EQ(byte_map::byte_of(' '), -1);  // a raw space is not one of the 256 characters
}

// A BPE vocabulary: every byte character (ids 0..255 in byte order), then `extra` tokens.
VocabSpec bpe_spec(const std::vector<std::string>& extra, const std::vector<std::string>& merges,
                   const std::string& pre = "gpt-2") {
  VocabSpec s;
  s.model = "gpt2";
  s.pre = pre;
  for (int b = 0; b < 256; ++b) s.tokens.emplace_back(byte_map::char_of(static_cast<uint8_t>(b)));
  for (const std::string& t : extra) s.tokens.push_back(t);
  s.merges = merges;
  return s;
}

TEST(Bpe, LowestRankMergesFirstLeftmostOnTies) {
  // "abc": "b c" has rank 0, so "bc" forms before "ab" could.
  auto t = test::make_tokenizer(bpe_spec({"ab", "bc", "aa"}, {"b c", "a b", "a a"}));
  EXPECT_EQ(texts(*t, t->encode("abc", false, false)), (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(texts(*t, t->encode("ab", false, false)), (std::vector<std::string>{"ab"}));
  // Equal ranks merge left to right.
  EXPECT_EQ(texts(*t, t->encode("aaa", false, false)), (std::vector<std::string>{"aa", "a"}));
  EXPECT_EQ(texts(*t, t->encode("aaaa", false, false)), (std::vector<std::string>{"aa", "aa"}));
}

TEST(Bpe, MergesChainAndSpacesAreSpelledAsG) {
  auto t = test::make_tokenizer(bpe_spec({"he", "ll", "llo", "hello", "\xC4\xA0h", "\xC4\xA0hello"},
                                         {"l l", "h e", "ll o", "he llo", "\xC4\xA0 h", "\xC4\xA0 hello"}));
  // The word " hello" is spelled "Ġhello". "h e" outranks "Ġ h", so "Ġh" never forms and
  // the word ends as Ġ + hello, merged by the last rule.
  EXPECT_EQ(texts(*t, t->encode("hello hello", false, false)),
            (std::vector<std::string>{"hello", "\xC4\xA0hello"}));
  EXPECT_EQ(texts(*t, t->encode(" h", false, false)), (std::vector<std::string>{"\xC4\xA0h"}));
  EXPECT_EQ(t->decode(t->encode("hello hello", false, false)), "hello hello");
}

TEST(Bpe, MergeResultsThatAreNotTokensStillMerge) {
  // "x y" makes "xy", which is no token but merges on into "xyz" (llama.cpp keeps
  // merging strings, not ids). A leftover non-token falls back to its one-byte tokens.
  auto t = test::make_tokenizer(bpe_spec({"xyz"}, {"x y", "xy z"}));
  EXPECT_EQ(texts(*t, t->encode("xyz", false, false)), (std::vector<std::string>{"xyz"}));
  EXPECT_EQ(texts(*t, t->encode("xy", false, false)), (std::vector<std::string>{"x", "y"}));
}

TEST(Bpe, IgnoreMergesUsesWholeWordTokens) {
  // "abc" is a token, but merges alone would give a + bc. llama-bpe (Llama 3) takes the
  // word whole; dbrx has the same regex without that rule.
  const std::vector<std::string> extra = {"bc", "abc"}, merges = {"b c"};
  VocabSpec llama3 = bpe_spec(extra, merges, "llama-bpe");
  llama3.tokens.push_back("<|begin_of_text|>");
  llama3.types.assign(llama3.tokens.size(), 1);
  llama3.types.back() = 3;
  llama3.bos = static_cast<int64_t>(llama3.tokens.size() - 1);
  auto t = test::make_tokenizer(llama3);
  EXPECT_TRUE(t->vocab().ignore_merges());
  EXPECT_TRUE(t->vocab().add_bos());  // llama3's default
  EXPECT_EQ(texts(*t, t->encode("abc", false, false)), (std::vector<std::string>{"abc"}));
  EXPECT_EQ(t->encode("abc", true, false).front(), *llama3.bos);
  auto dbrx = test::make_tokenizer(bpe_spec(extra, merges, "dbrx"));
  EXPECT_FALSE(dbrx->vocab().ignore_merges());
  EXPECT_EQ(texts(*dbrx, dbrx->encode("abc", false, false)), (std::vector<std::string>{"a", "bc"}));
}

TEST(Bpe, PreTokenizerNames) {
  const std::vector<std::string> merges = {"a b"};
  VocabSpec s = bpe_spec({"ab"}, merges, "");  // missing: the default, with a warning
  auto v = Vocab::create(s);
  ASSERT_TRUE(v.ok()) << v.error().message;
  s.pre = "no-such-pre";
  v = Vocab::create(s);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("unknown BPE pre-tokenizer 'no-such-pre'"), std::string::npos);
  s.pre = "kimi-k2";
  v = Vocab::create(s);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("not supported"), std::string::npos);
  s.add_bos = false;  // llama3, tekken and chameleon default to a BOS this vocabulary lacks
  for (const char* name : {"gpt-2", "llama3", "llama-bpe", "qwen2", "qwen35", "deepseek-llm", "deepseek-coder",
                           "deepseek-v3", "falcon", "starcoder", "refact", "command-r", "mpt", "olmo",
                           "gpt-4o", "tekken", "chameleon", "bloom", "viking", "tiny_aya", "superbpe",
                           "bailingmoe", "seed-coder", "exaone-moe", "minicpm5", "jais-2", "laguna",
                           "granite-embed-multi-97m", "ufakzeka", "stablelm2", "smollm", "dbrx"}) {
    const PreTokenizerSpec* spec = find_pre_tokenizer(name);
    ASSERT_NE(spec, nullptr) << name;
    // Every pattern of the table compiles with PCRE2.
    EXPECT_TRUE(PreTokenizer::compile(spec->regexes).ok()) << name;
    s.pre = name;
    EXPECT_TRUE(test::make_tokenizer(s)->encode("ab ab", false, false).size() >= 2) << name;
  }
  EXPECT_FALSE(find_pre_tokenizer("qwen2")->clean_spaces);
  EXPECT_TRUE(find_pre_tokenizer("gpt-2")->clean_spaces);
}

std::vector<std::string> split(const char* pre, std::string_view text) {
  auto p = PreTokenizer::compile(find_pre_tokenizer(pre)->regexes);
  EXPECT_TRUE(p.ok());
  std::vector<std::string> out;
  for (const Span& s : p->split(text)) out.emplace_back(text.substr(s.begin, s.end - s.begin));
  return out;
}

using Words = std::vector<std::string>;

TEST(PreTokenizer, Gpt2) {
  EXPECT_EQ(split("gpt-2", "Hello world, it's 2024!"),
            (Words{"Hello", " world", ",", " it", "'s", " 2024", "!"}));
  // \s+(?!\S): a run of spaces leaves its last one to the next word.
  EXPECT_EQ(split("gpt-2", "a   b  "), (Words{"a", "  ", " b", "  "}));
  EXPECT_EQ(split("gpt-2", "\n\tx"), (Words{"\n", "\t", "x"}));  // unmatched "\t" is still a word
  EXPECT_EQ(split("gpt-2", ""), Words{});
}

TEST(PreTokenizer, Llama3) {
  EXPECT_EQ(split("llama3", "I'VE 12345 apples\n\n  ok"),
            (Words{"I", "'VE", " ", "123", "45", " apples", "\n\n", " ", " ok"}));
  EXPECT_EQ(split("llama3", "x \n y"), (Words{"x", " \n", " y"}));
  EXPECT_EQ(split("qwen2", "12345"), (Words{"1", "2", "3", "4", "5"}));
}

TEST(PreTokenizer, SequencesAndEmptyMatches) {
  // Falcon: punctuation runs, then GPT-2 inside the rest, then digit triples.
  EXPECT_EQ(split("falcon", "a+b=12345"), (Words{"a", "+", "b", "=", "123", "45"}));
  // superbpe's second pattern only matches empty strings: they cut digit runs in threes
  // from the right.
  EXPECT_EQ(split("superbpe", "1234567x"), (Words{"1", "234", "567", "x"}));
  EXPECT_EQ(split("deepseek-llm", "Hello 世界 123\n"), (Words{"Hello", " ", "世界", " ", "123", "\n"}));
}

TEST(PreTokenizer, LongWordsOnGroupRepeatingPatterns) {
  // GPT-4o's lookahead rewrite repeats a group per letter: a 200 KB word needs more
  // than the JIT's default stack, and must still come out as one word.
  for (const char* pre : {"gpt-4o", "tekken", "exaone-moe", "gpt-2", "deepseek-v3"}) {
    std::string text;
    while (text.size() < 200'000) text += "abcdefghij";
    const Words words = split(pre, text);
    ASSERT_EQ(words.size(), 1u) << pre;
    EXPECT_EQ(words[0].size(), text.size()) << pre;
  }
}

TEST(Bpe, LongRunsAreNotQuadratic) {
  for (const char* rel : {kGpt2, kLlama3, kQwen2}) {
    const Tokenizer* t = test::shared_tokenizer(rel);
    ASSERT_NE(t, nullptr);
    for (const std::string unit : {"a", " ", "\n", "数", "\xF0\x9F\xA6\x99", "ab ", "1", " \n", "!"}) {
      std::string text;
      while (text.size() < 100'000) text += unit;
      const auto start = std::chrono::steady_clock::now();
      const std::vector<Token> ids = t->encode(text, false, false);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      EXPECT_EQ(t->decode(ids), text) << rel << " '" << unit << "'";
      // O(n log n) takes milliseconds (sanitizers included); quadratic would take minutes.
      EXPECT_LT(seconds, 10.0) << rel << " '" << unit << "'";
    }
  }
}

TEST(Bpe, IllFormedUtf8BecomesReplacementCharacters) {
  const Tokenizer* t = test::shared_tokenizer(kGpt2);
  ASSERT_NE(t, nullptr);
  const std::string r(utf8::kReplacement);
  // One U+FFFD per byte that is not part of a well-formed character, as in llama.cpp.
  EXPECT_EQ(t->decode(t->encode("a\xFF" "b", false, false)), "a" + r + "b");
  EXPECT_EQ(t->decode(t->encode("\xE4\xB8", false, false)), r + r);
  EXPECT_EQ(t->decode(t->encode("x\xE4\xB8y\x80", false, false)), "x" + r + r + "y" + r);
  EXPECT_EQ(t->encode("\xFF", false, false), t->encode(r, false, false));
}

TEST(Bpe, EmptyAndWhitespace) {
  const Tokenizer* t = test::shared_tokenizer(kLlama3);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->encode("", false, false), std::vector<Token>{});
  EXPECT_EQ(t->encode("", true, false), std::vector<Token>{128000});
  for (const std::string& text : std::vector<std::string>{" ", "  ", "\t\t", "\n\n\n", "a  b", "   x   ", "\r\n",
                                                         "\v\f", std::string("a\0b", 3), "\xC2\xA0\xE3\x80\x80"})
    EXPECT_EQ(t->decode(t->encode(text, false, false)), text);
}

TEST(Bpe, VocabularySpellsBytesWithGpt2Characters) {
  const Tokenizer* t = test::shared_tokenizer(kGpt2);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->vocab().text(t->vocab().byte_token(' ')), "\xC4\xA0");
  EXPECT_EQ(t->token_to_piece(t->vocab().byte_token(' ')), " ");
  for (int b = 0; b < 256; ++b) {
    const Token id = t->vocab().byte_token(static_cast<uint8_t>(b));
    ASSERT_NE(id, kNoToken) << b;
    EXPECT_EQ(t->token_to_piece(id), std::string(1, static_cast<char>(b)));
  }
}

TEST(Bpe, Qwen2ChatTokensNeedParseSpecial) {
  const Tokenizer* t = test::shared_tokenizer(kQwen2);
  ASSERT_NE(t, nullptr);
  const Token im_start = t->vocab().find("<|im_start|>"), im_end = t->vocab().find("<|im_end|>");
  ASSERT_NE(im_start, kNoToken);
  const std::string text = "<|im_start|>user\nHi<|im_end|>\n";
  const std::vector<Token> parsed = t->encode(text, false, true);
  ASSERT_GE(parsed.size(), 4u);
  EXPECT_EQ(parsed.front(), im_start);
  EXPECT_EQ(std::count(parsed.begin(), parsed.end(), im_end), 1);
  EXPECT_EQ(t->decode(parsed, {.render_special = true}), text);
  EXPECT_EQ(t->decode(parsed), "user\nHi\n");  // control tokens are hidden by default

  const std::vector<Token> plain = t->encode(text, false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), im_start), 0);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), im_end), 0);
  EXPECT_GT(plain.size(), parsed.size());
  EXPECT_EQ(t->decode(plain), text);
  // Qwen2 adds no BOS.
  EXPECT_EQ(t->encode("Hi", true, false), t->encode("Hi", false, false));
}

TEST(Bpe, StreamingChineseAndEmojiNeverSplitsACharacter) {
  for (const char* rel : {kQwen2, kLlama3, kGpt2}) {
    const Tokenizer* t = test::shared_tokenizer(rel);
    ASSERT_NE(t, nullptr);
    for (const std::string text : {"我想在apple工作1314151天～", "数据科学 🦙🚀😶‍🌫️ ✅", "កាន់តែពិសេសអាចខលចេញ",
                                   "大模型已经成为了各行各业的核心技术", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👨‍👩‍👧‍👦"}) {
      const std::vector<Token> ids = t->encode(text, false, false);
      StreamDecoder d(*t);
      std::string all;
      int partial_pieces = 0;
      for (Token id : ids) {
        partial_pieces += !utf8::is_valid(t->token_to_piece(id));
        const std::string chunk = d.push(id);
        EXPECT_TRUE(utf8::is_valid(chunk)) << rel;
        EXPECT_EQ(chunk.find(utf8::kReplacement), std::string::npos) << rel;
        all += chunk;
      }
      all += d.flush();
      EXPECT_EQ(all, text) << rel;
      // Byte-level pieces really do end inside characters here: the decoder holds them.
      if (rel == kGpt2) EXPECT_GT(partial_pieces, 0) << text;
    }
  }
}

TEST(Bpe, CleanSpacesIsOptIn) {
  const Tokenizer* gpt2 = test::shared_tokenizer(kGpt2);
  const Tokenizer* qwen = test::shared_tokenizer(kQwen2);
  ASSERT_NE(gpt2, nullptr);
  ASSERT_NE(qwen, nullptr);
  const std::string text = "Hello , world ! I 'm sure it 's ' fine ' .";
  const std::vector<Token> ids = gpt2->encode(text, false, false);
  EXPECT_EQ(gpt2->decode(ids), text);
  EXPECT_EQ(gpt2->decode(ids, {.clean_spaces = true}), "Hello, world! I'm sure it's'fine '.");
  // Qwen2 does not ask for the clean-up (llama.cpp's clean_spaces = false).
  EXPECT_EQ(qwen->decode(qwen->encode(text, false, false), {.clean_spaces = true}), text);
}

}  // namespace
}  // namespace mx
