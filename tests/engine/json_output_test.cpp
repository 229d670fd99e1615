// Structured output end to end: 100 samples (25 in the sanitizer build) from a real model
// under a JSON Schema all validate with an independent validator (python3-jsonschema), JSON mode output always
// parses, and the whole-vocabulary mask agrees with checking each token on its own.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/generate.h"
#include "engine/grammar_setup.h"
#include "gguf/gguf_file.h"
#include "sampling/gbnf.h"
#include "sampling/json_schema.h"
#include "stories_test.h"
#include "test_paths.h"

namespace mx {
namespace {

namespace fs = std::filesystem;

class JsonOutputTest : public test::StoriesTest {
 protected:
  struct Sample {
    std::string text;
    FinishReason finish;
  };

  // Samples `n` texts at temperature 1 (seeds 1..n) under the grammar.
  std::vector<Sample> sample(const std::string& gbnf, int n, const std::vector<TokenBias>& bias = {}) {
    auto g = parse_gbnf(gbnf);
    EXPECT_TRUE(g.ok()) << g.error().message;
    if (!g) return {};
    const auto grammar = std::make_shared<const Grammar>(std::move(*g));
    // One thread: ctest runs two tests at once on two cores, and a second pool thread
    // spinning at each barrier made this test fifteen times slower there.
    ExecContext ctx(1, kernels_);
    std::vector<Sample> out;
    for (int seed = 1; seed <= n; ++seed) {
      KvCache cache(model_->config, 512);
      GenerateOptions opt{.n_predict = 400, .sampling = {.temperature = 1.0f, .seed = static_cast<uint64_t>(seed)}};
      opt.sampling.grammar = grammar_constraint(grammar, token_texts(*tokenizer_), *tokenizer_);
      opt.sampling.logit_bias = bias;
      Sample s;
      auto stats = generate(*model_, ctx, cache, tokenizer_->encode("Data:", true, false), opt,
                            {.is_end = [&](Token t) { return tokenizer_->vocab().is_eog(t); },
                             .on_token = [&](Token t) { s.text += tokenizer_->token_to_piece(t); return true; },
                             .on_logprobs = nullptr});
      EXPECT_TRUE(stats.ok());
      if (!stats) return out;
      s.finish = stats->finish;
      out.push_back(std::move(s));
    }
    return out;
  }

};

// Runs the reference validator over the documents; one verdict per document.
std::vector<std::string> validate(const std::string& schema, const std::vector<std::string>& docs) {
  const fs::path dir = fs::temp_directory_path() / ("moxing-json-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "schema.json") << schema;
  {
    std::ofstream lines(dir / "docs.jsonl");
    for (const std::string& d : docs) lines << nlohmann::json::parse(d).dump() << "\n";
  }
  const std::string script = std::string(MOXING_SOURCE_DIR) + "/tests/engine/validate_json.py";
  const std::string args = " '" + script + "' '" + (dir / "schema.json").string() + "' '" +
                           (dir / "docs.jsonl").string() + "'";
  // The first python3 on PATH if it has jsonschema, else Debian's (python3-jsonschema).
  const std::string cmd = "if python3 -c 'import jsonschema' 2>/dev/null; then python3" + args +
                          "; else /usr/bin/python3" + args + "; fi";
  std::vector<std::string> verdicts;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char line[4096];
    while (fgets(line, sizeof(line), p)) verdicts.emplace_back(line, strcspn(line, "\n"));
    pclose(p);
  }
  fs::remove_all(dir);
  return verdicts;
}

// The sanitizer build looks for memory errors, not rare outputs, and runs each sample
// about seven times slower: it takes a quarter of the samples.
#ifdef __SANITIZE_ADDRESS__
constexpr int kSamples = 25;
#else
constexpr int kSamples = 100;
#endif

TEST_F(JsonOutputTest, HundredSamplesPerSchemaAllValidate) {
  const char* schemas[] = {
      // Required and optional properties, enum, bounded array, nested object.
      R"({"type": "object", "properties": {
           "name": {"type": "string", "minLength": 1, "maxLength": 16},
           "age": {"type": "integer"},
           "mood": {"enum": ["happy", "sad", null]},
           "tags": {"type": "array", "items": {"type": "string", "maxLength": 8}, "minItems": 1, "maxItems": 3},
           "home": {"type": "object", "properties": {"town": {"type": "string", "maxLength": 10},
                                                     "zip": {"type": ["integer", "null"]}},
                    "required": ["town"]}},
         "required": ["name", "age", "tags"]})",
      // $ref to local definitions, anyOf, const, number, boolean, formats.
      R"({"$defs": {"point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                              "required": ["x", "y"]}},
          "type": "object", "properties": {
            "kind": {"const": "path"},
            "points": {"type": "array", "items": {"$ref": "#/$defs/point"}, "maxItems": 2},
            "closed": {"type": "boolean"},
            "label": {"anyOf": [{"type": "string", "maxLength": 6}, {"type": "integer"}]},
            "day": {"type": "string", "format": "date"},
            "id": {"type": "string", "format": "uuid"}},
          "required": ["kind", "points", "closed", "day", "id"]})",
  };
  for (const char* schema : schemas) {
    auto gbnf = json_schema_to_gbnf(schema);
    ASSERT_TRUE(gbnf.ok()) << gbnf.error().message;
    const auto samples = sample(*gbnf, kSamples);
    ASSERT_EQ(samples.size(), static_cast<size_t>(kSamples));
    std::vector<std::string> docs;
    for (const Sample& s : samples) {
      EXPECT_EQ(s.finish, FinishReason::kEndOfText) << s.text;
      ASSERT_TRUE(nlohmann::json::accept(s.text)) << s.text;
      docs.push_back(s.text);
    }
    const auto verdicts = validate(schema, docs);
    ASSERT_EQ(verdicts.size(), docs.size()) << "python3 with jsonschema is needed (apt-get install python3-jsonschema)";
    for (size_t i = 0; i < docs.size(); ++i) EXPECT_EQ(verdicts[i], "ok") << docs[i];
  }
}

// Whether `text` is JSON, or the start of some JSON text (cut off by the length limit).
bool is_json_or_prefix(const std::string& text) {
  try {
    const auto doc = nlohmann::json::parse(text);
    return !doc.is_discarded();
  } catch (const nlohmann::json::parse_error& e) {
    return e.byte >= text.size();  // the input ended before anything went wrong
  }
}

TEST_F(JsonOutputTest, JsonModeSamplesAreObjects) {
  // This story model never learned JSON: left alone it writes key after key until the
  // length limit, so every output must be JSON or a prefix of it.
  for (const Sample& s : sample(json_object_gbnf(), 20)) {
    EXPECT_TRUE(is_json_or_prefix(s.text)) << s.text;
    EXPECT_EQ(s.text.front(), '{') << s.text;
  }
  // Nudged to close strings and objects (a bias on every token with a '"' or a '}'), all
  // kSamples end as objects.
  std::vector<TokenBias> close;
  for (Token id = 0; id < tokenizer_->vocab().size(); ++id) {
    const std::string piece = tokenizer_->token_to_piece(id);
    if (piece.find('}') != std::string::npos) close.push_back({id, 20.0f});
    else if (piece.find('"') != std::string::npos && piece.find(',') == std::string::npos) close.push_back({id, 4.0f});
  }
  ASSERT_FALSE(close.empty());
  const auto samples = sample(json_object_gbnf(), kSamples, close);
  ASSERT_EQ(samples.size(), static_cast<size_t>(kSamples));
  for (const Sample& s : samples) {
    EXPECT_EQ(s.finish, FinishReason::kEndOfText) << s.text;
    const auto doc = nlohmann::json::parse(s.text, nullptr, false);
    EXPECT_TRUE(doc.is_object()) << s.text;
  }
}

TEST(GrammarMask, WholeVocabularyMaskEqualsTokenByTokenChecks) {
  auto file = gguf::File::open(test::shared_path("tokenizer/ggml-vocab-qwen2.gguf"));
  ASSERT_TRUE(file.ok());
  auto tok = Tokenizer::from_gguf(*file);
  ASSERT_TRUE(tok.ok());
  auto g = parse_gbnf(json_object_gbnf());
  ASSERT_TRUE(g.ok());
  const GrammarConstraint constraint = grammar_constraint(std::make_shared<const Grammar>(std::move(*g)), token_texts(**tok), **tok);
  const int32_t n_vocab = (*tok)->vocab().size();
  // Points inside structure, strings, numbers, escapes and a split UTF-8 character.
  for (const std::string prefix : {"", "{", "{\"na", "{\"a\": [1, 2", "{\"a\": \"x\\", "{\"a\": \"\xe6\x8f", "{\"a\": -0.5e"}) {
    GrammarSampler masked(constraint), checked(constraint);
    masked.accept_bytes(prefix);
    checked.accept_bytes(prefix);
    Candidates c;
    c.reset(std::vector<float>(static_cast<size_t>(n_vocab), 0.0f));
    masked.apply(c);
    int allowed = 0, mismatches = 0;
    for (const Candidate& x : c.items) {
      const bool in_mask = x.logit > -INFINITY;
      allowed += in_mask;
      if (in_mask != checked.allows(x.id) && ++mismatches <= 5)
        ADD_FAILURE() << "prefix '" << prefix << "' token " << x.id << " '" << (*tok)->token_to_piece(x.id)
                      << "': mask says " << in_mask;
    }
    EXPECT_EQ(mismatches, 0);
    EXPECT_GT(allowed, 0) << prefix;
  }
}

}  // namespace
}  // namespace mx
