// End to end: the moxing binary as a user runs it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "gguf_edit.h"
#include "variant_models.h"

namespace mx {
namespace {

test::CliResult run(const std::string& args) { return test::run_cli(args); }

const std::string kStories = test::shared_path("models/stories260K.gguf");

TEST(Cli, RunGreedyStoriesMatchesReferenceText) {
  std::ifstream in(test::shared_path("golden/stories260K-once-upon-a-time.json"));
  const auto golden = nlohmann::json::parse(in);
  for (int threads : {1, 2}) {
    const auto r = run("run -m " + kStories + " -p 'Once upon a time' -n 64 --temp 0 -t " +
                       std::to_string(threads));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "Once upon a time" + golden["greedy_text"].get<std::string>() + "\n");
    EXPECT_NE(r.err.find("tokens/s"), std::string::npos) << r.err;
  }
}

TEST(Cli, SampledRunIsReproducibleBySeedAndThreadCount) {
  const std::string args = "run -m " + kStories + " -p 'Once upon a time' -n 48 --temp 0.9 --seed 7";
  const auto a = run(args + " -t 1"), b = run(args + " -t 2"), c = run("run -m " + kStories +
      " -p 'Once upon a time' -n 48 --temp 0.9 --seed 8 -t 1");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
}

TEST(Cli, PerplexityWithinOnePercentOfReference) {
  std::ifstream in(test::shared_path("golden/stories260K-perplexity.json"));
  const auto golden = nlohmann::json::parse(in);
  for (const std::string file : {"stories260K.gguf", "stories260K-F16.gguf", "stories260K-Q8_0.gguf"}) {
    const auto r = run("perplexity -m " + test::shared_path("models/" + file) + " -f " +
                       test::shared_path("golden/tinystories-like-eval.txt") + " -c 128 -t 2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(perplexity: ([0-9.]+))"))) << r.out;
    const double ppl = std::stod(m[1]);
    const double want = golden["results"][file]["ppl"];
    std::printf("[perplexity] %s: %.4f (reference %.4f)\n", file.c_str(), ppl, want);
    EXPECT_NEAR(ppl, want, want * 0.01) << file;
    EXPECT_NE(r.out.find("17 chunks"), std::string::npos) << r.out;
  }
}

TEST(Cli, InfoShowsMetadataAndTensors) {
  const auto r = run("info " + kStories);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("general.architecture"), std::string::npos);
  EXPECT_NE(r.out.find("llama.embedding_length"), std::string::npos);
  EXPECT_NE(r.out.find("token_embd.weight"), std::string::npos);
}

// `info` names what will run: experts, rope scaling, sliding windows.
TEST(Cli, InfoNamesTheArchitecturesFeatures) {
  const auto moe = run("info " + test::shared_path("models/tiny/tiny-qwen3moe-Q4_K.gguf"));
  ASSERT_EQ(moe.exit_code, 0) << moe.err;
  EXPECT_NE(moe.out.find("mixture of experts: 2 of 8 experts per token, each 256 wide"), std::string::npos) << moe.out;
  const auto gemma = run("info " + test::shared_path("models/tiny/tiny-gemma2-Q4_K.gguf"));
  EXPECT_NE(gemma.out.find("sliding window of 16 tokens on 1 of 2 layers"), std::string::npos) << gemma.out;
  const std::string yarn = test::temp_path("yarn.gguf");
  ASSERT_TRUE(test::write_edited(test::shared_path("models/tiny/tiny-qwen2-Q8_0.gguf"),
                                 test::GgufEdit{}
                                     .with("qwen2.rope.scaling.type", {std::string("yarn")})
                                     .with("qwen2.rope.scaling.factor", {4.0f})
                                     .with("qwen2.rope.scaling.original_context_length", {uint32_t{512}}),
                                 yarn)
                  .ok());
  const auto r = run("info " + yarn);
  std::filesystem::remove(yarn);
  EXPECT_NE(r.out.find("rope base 1000000, YaRN x4 beyond 512 tokens"), std::string::npos) << r.out;

  const std::string gpt_oss = test::temp_path("gpt_oss_info.gguf");
  for (const auto& v : test::variant_models())
    if (v.name == "tiny-gpt-oss-MXFP4_MOE") ASSERT_TRUE(test::write_variant(v, gpt_oss).ok());
  const auto g = run("info " + gpt_oss);
  std::filesystem::remove(gpt_oss);
  for (const char* feature : {"mixture of experts: 4 of 8 experts per token, each 256 wide, router and expert biases",
                              "rope base 150000, YaRN x32 beyond 128 tokens", "sliding window of 16 tokens on 1 of 2 layers",
                              "attention sinks", "clamped SwiGLU"})
    EXPECT_NE(g.out.find(feature), std::string::npos) << feature << "\n" << g.out;
}

// A file asking for what moxing does not implement is refused with exit code 3, naming it.
TEST(Cli, UnsupportedRopeScalingIsExitCode3) {
  const std::string path = test::temp_path("dynamic_rope.gguf");
  ASSERT_TRUE(test::write_edited(test::shared_path("models/tiny/tiny-qwen2-Q8_0.gguf"),
                                 test::GgufEdit{}.with("qwen2.rope.scaling.type", {std::string("dynamic")}), path)
                  .ok());
  const auto r = run("run -m " + path + " -p hi -n 4");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("'qwen2.rope.scaling.type' is 'dynamic'"), std::string::npos) << r.err;
  const auto info = run("info " + path);
  std::filesystem::remove(path);
  EXPECT_EQ(info.exit_code, 0);  // info still shows the file, and why it will not run
  EXPECT_NE(info.out.find("not runnable by moxing"), std::string::npos) << info.out;
}

TEST(Cli, BadInputGivesClearErrorAndExitCode) {
  const auto missing = run("run -m /nonexistent.gguf -p hi");
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos) << missing.err;

  const std::string not_gguf = test::temp_path("not_a_model.gguf");
  std::ofstream(not_gguf) << "this is not a gguf file at all";
  const auto bad = run("info " + not_gguf);
  std::filesystem::remove(not_gguf);
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_NE(bad.err.find("not a GGUF file"), std::string::npos) << bad.err;

  const auto vocab_only = run("run -m " + test::shared_path("tokenizer/ggml-vocab-llama-spm.gguf") + " -p hi");
  EXPECT_EQ(vocab_only.exit_code, 3) << vocab_only.err;

  const auto too_long = run("run -m " + kStories + " -c 16 -p '" + std::string(200, 'a') + "'");
  EXPECT_EQ(too_long.exit_code, 4);
  EXPECT_NE(too_long.err.find("context"), std::string::npos) << too_long.err;

  EXPECT_EQ(run("run --no-such-flag").exit_code, 2);
  EXPECT_EQ(run("").exit_code, 2);
}

TEST(Cli, TokenizePrintsIdsAndPiecesAndWorksOnVocabularyOnlyFiles) {
  const auto ids = run("tokenize -m " + kStories + " --ids 'Once upon a time'");
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  EXPECT_EQ(ids.out, "[1, 403, 407, 261, 378]\n");
  const auto no_bos = run("tokenize -m " + kStories + " --ids --no-bos 'Once upon a time'");
  EXPECT_EQ(no_bos.out, "[403, 407, 261, 378]\n");
  const auto pieces = run("tokenize -m " + test::shared_path("tokenizer/ggml-vocab-llama-spm.gguf") +
                          " 'Hello world'");
  ASSERT_EQ(pieces.exit_code, 0) << pieces.err;
  EXPECT_NE(pieces.out.find("15043 -> ' Hello'"), std::string::npos) << pieces.out;
}

TEST(Cli, EveryCommandHasHelp) {
  for (const std::string cmd : {"", "run", "info", "perplexity", "bench", "tokenize", "template", "forge", "quantize", "quality", "serve"}) {
    const auto r = run(cmd + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd << ": " << r.out;
  }
}

TEST(Cli, ForgeListsPresetsAndRejectsUnknownOnes) {
  const auto list = run("forge --list");
  ASSERT_EQ(list.exit_code, 0);
  for (const char* p : {"qwen2.5-0.5b", "llama-3.2-1b", "qwen3-1.7b", "llama-3.1-8b"})
    EXPECT_NE(list.out.find(p), std::string::npos) << p;
  const auto bad = run("forge --preset gpt-9 /tmp/never.gguf");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("llama-3.1-8b"), std::string::npos) << bad.err;  // lists the choices
  EXPECT_EQ(run("forge --preset qwen2.5-0.5b --type Q9_9 /tmp/never.gguf").exit_code, 2);
}

TEST(Cli, LoopGuardStopsAForcedLoop) {
  // A huge bias on one token makes greedy decoding repeat it: a loop of period 1.
  const std::string base = "run -m " + kStories + " -p 'Once upon a time' --temp 0 --logit-bias 400+100";
  const auto stop = run(base + " -n 64 --loop-guard stop");
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_NE(stop.err.find("stopped by repetition"), std::string::npos) << stop.err;
  EXPECT_NE(stop.err.find("generation: 32 tokens"), std::string::npos) << stop.err;
  const auto off = run(base + " -n 64 --loop-guard off");
  EXPECT_NE(off.err.find("generation: 64 tokens"), std::string::npos) << off.err;
  EXPECT_NE(off.err.find("stopped by length limit"), std::string::npos) << off.err;
  // Penalize switches the penalties on: DRY's penalty grows with the repeat until it
  // outweighs even this bias, so the loop breaks and generation runs to the limit.
  const auto pen = run(base + " -n 100");
  EXPECT_NE(pen.err.find("repetition penalties switched on"), std::string::npos) << pen.err;
  EXPECT_NE(pen.err.find("generation: 100 tokens"), std::string::npos) << pen.err;
  // Bad sampling values are usage errors.
  EXPECT_EQ(run("run -m " + kStories + " -p x --top-p 2").exit_code, 2);
  EXPECT_EQ(run("run -m " + kStories + " -p x --logit-bias banana").exit_code, 2);
  EXPECT_EQ(run("run -m " + kStories + " -p x --samplers 'top_k;nope'").exit_code, 2);
  EXPECT_EQ(run("run -m " + kStories + " -p x --loop-guard sometimes").exit_code, 2);
}

TEST(Cli, SamplerNamesAndDryBreakersGoThroughTheSharedSetup) {
  // --samplers takes llama.cpp's names and the aliases; an unknown one is refused with the list.
  const std::string base = "run -m " + kStories + " -p 'Once upon a time' -n 16";
  EXPECT_EQ(run(base + " --samplers 'top_k;temp'").exit_code, 0);
  const auto bad = run(base + " --samplers 'top_k;nope'");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown sampler 'nope' (known: penalties, dry, top_k, typ_p, top_p, min_p, xtc, temperature)"),
            std::string::npos) << bad.err;
  // The forced loop of " do" (as above): DRY, switched on by the loop guard, ends it unless
  // " do" holds a sequence breaker, which the flag sets as `serve`'s sets the server's.
  const std::string loop = "run -m " + kStories + " -p 'Once upon a time' --temp 0 --logit-bias 400+100 -n 100";
  const auto broken = run(loop + " --dry-sequence-breaker x");
  EXPECT_NE(broken.err.find("generation: 100 tokens"), std::string::npos) << broken.err;
  const auto kept = run(loop + " --dry-sequence-breaker do");
  EXPECT_NE(kept.err.find("stopped by repetition"), std::string::npos) << kept.err;
}

TEST(Cli, QualityReportsEachSetting) {
  const auto r = run("quality -m " + kStories + " -n 24 --samples 2 --configs greedy,default,dry --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["settings"], "greedy");
  EXPECT_EQ(j[0]["samples"], 6);  // one per built-in prompt: greedy is deterministic
  EXPECT_EQ(j[1]["samples"], 12);
  for (const auto& row : j) {
    EXPECT_GT(row["distinct_1"].get<double>(), 0.0);
    EXPECT_LE(row["distinct_3"].get<double>(), 1.0);
    EXPECT_EQ(row["invalid_utf8"], 0);
  }
  EXPECT_EQ(run("quality -m " + kStories + " --configs greedy,nope").exit_code, 2);
}

TEST(Cli, QualityScoresSamplesOfAnotherProgram) {
  const std::string file = test::temp_file("other") + ".jsonl";
  std::ofstream(file) << R"({"settings": "other", "text": "The cat sat. The cat sat. The cat sat. The cat sat."})" "\n"
                      << R"({"settings": "other", "text": "A dog ran home."})" "\n";
  const auto r = run("quality -m " + kStories + " -n 8 --configs greedy --json --score " + file);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[1]["settings"], "other");
  EXPECT_EQ(j[1]["samples"], 2);
  EXPECT_EQ(j[1]["max_sentence_repeats"], 4);
  std::ofstream(file) << "not json\n";
  const auto bad = run("quality -m " + kStories + " -n 8 --configs greedy --score " + file);
  EXPECT_EQ(bad.exit_code, 4) << bad.err;  // bad input
  EXPECT_NE(bad.err.find(":1: expected"), std::string::npos) << bad.err;
}

TEST(Cli, LoopGuardStopsAGrammarForcedSentenceLoop) {
  // The grammar admits only one sentence, over and over: a loop of about ten tokens.
  const std::string base = "run -m " + kStories +
                           " -p 'Once upon a time' --temp 0 -n 100 --grammar "
                           "'root ::= \"They wanted to play with the box. \" root'";
  const auto stop = run(base + " --loop-guard stop");
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_NE(stop.err.find("stopped by repetition"), std::string::npos) << stop.err;
  EXPECT_NE(stop.out.find("They wanted to play with the box. They wanted"), std::string::npos) << stop.out;
  size_t repeats = 0;
  for (size_t p = stop.out.find("box."); p != std::string::npos; p = stop.out.find("box.", p + 1)) ++repeats;
  EXPECT_LE(repeats, 4u) << stop.out;  // caught within a few periods
  const auto off = run(base + " --loop-guard off");
  EXPECT_NE(off.err.find("generation: 100 tokens"), std::string::npos) << off.err;
  // A grammar that does not parse is a usage error with its position.
  const auto bad = run("run -m " + kStories + " -p x --grammar 'root ::= \"a'");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("1:12: unterminated string"), std::string::npos) << bad.err;
}

TEST(Cli, JsonSchemaAndJsonModeConstrainTheOutput) {
  const std::string base = "run -m " + kStories + " -p 'Cat:' -s 4 ";
  const auto r = run(base + R"(-n 120 -j '{"type": "object", "properties": {"name": {"type": "string", "maxLength": 10},)"
                            R"( "legs": {"enum": [2, 4]}}, "required": ["name", "legs"]}')");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out.substr(r.out.find('{')), nullptr, false);
  ASSERT_TRUE(doc.is_object()) << r.out;
  EXPECT_TRUE(doc["name"].is_string() && doc["name"].get<std::string>().size() <= 10) << r.out;
  EXPECT_TRUE(doc["legs"] == 2 || doc["legs"] == 4) << r.out;
  EXPECT_NE(r.err.find("stopped by end of text"), std::string::npos) << r.err;
  const auto mode = run(base + "--json-mode -n 40");
  ASSERT_EQ(mode.exit_code, 0) << mode.err;
  EXPECT_EQ(mode.out.substr(0, 5), "Cat:{") << mode.out;
  // Unsupported keywords and bad combinations are usage errors that say what is wrong.
  const auto unsupported = run(base + R"(-j '{"type": "string", "pattern": "a+"}')");
  EXPECT_EQ(unsupported.exit_code, 2);
  EXPECT_NE(unsupported.err.find("keyword 'pattern' is not supported"), std::string::npos) << unsupported.err;
  const auto both = run(base + "--json-mode --grammar 'root ::= \"a\"'");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("give only one of"), std::string::npos) << both.err;
}

TEST(Cli, QuantizeWritesAModelThatRuns) {
  const std::string out = test::temp_file("quantized.gguf");
  const auto q = run("quantize " + kStories + " " + out + " q8_0 -t 2");
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.err.find("32 Q8_0"), std::string::npos) << q.err;  // the tensor count per type
  EXPECT_NE(q.err.find("using F16"), std::string::npos) << q.err;  // rows of 172 fall back
  const auto gen = run("run -m " + out + " -p 'Once upon a time' -n 8 --temp 0");
  EXPECT_EQ(gen.exit_code, 0) << gen.err;
  EXPECT_FALSE(gen.out.empty());

  EXPECT_EQ(run("quantize " + kStories + " " + out + " Q3_XL").exit_code, 2);  // unknown type
  EXPECT_EQ(run("quantize " + kStories + " " + out).exit_code, 2);              // no type
  const auto requant = run("quantize " + out + " " + out + ".2 Q4_0");
  EXPECT_EQ(requant.exit_code, 1);
  EXPECT_NE(requant.err.find("--allow-requantize"), std::string::npos) << requant.err;
  EXPECT_NE(run("quantize --list").out.find("Q4_K_M"), std::string::npos);
}

TEST(Cli, BenchPrintsTableAndJson) {
  const auto table = run("bench -m " + kStories + " -p 32 -n 8 -t 1 -r 2");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("pp32"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("tg8"), std::string::npos) << table.out;
  const auto json = run("bench -m " + kStories + " -p 16 -n 4 -t 1,2 -r 1 --json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);
  ASSERT_EQ(j.size(), 4u);
  for (const auto& r : j) {
    for (const char* f : {"n_prompt", "n_gen", "n_threads", "avg_ts", "stddev_ts", "model_size", "model_type"})
      EXPECT_TRUE(r.contains(f)) << f;
    EXPECT_GT(r["avg_ts"].get<double>(), 0);
    EXPECT_EQ(r["type_k"], "f16") << "the cache's default type, as llama-bench names it";
  }
}

TEST(Cli, BenchAtDepthsWithACacheType) {
  const auto r = run("bench -m " + kStories + " -p 16 -n 4 -t 1 -r 1 -d 0,64 --cache-type-k bf16 --cache-type-v f32 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 4u);  // (pp16, tg4) at depth 0, then at 64
  EXPECT_EQ(j[0]["n_depth"], 0);
  EXPECT_EQ(j[3]["n_depth"], 64);
  EXPECT_EQ(j[3]["type_k"], "bf16");
  EXPECT_EQ(j[3]["type_v"], "f32");
}

TEST(Cli, CacheTypesAndDepthsBeyondTheModelAreUsageErrors) {
  const auto unknown = run("run -m " + kStories + " -p hi --cache-type-k q4_k");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown KV cache type 'q4_k' (one of: f32, f16, bf16, q8_0, q4_0)"), std::string::npos)
      << unknown.err;
  // stories260K's heads are 8 wide: no whole blocks of 32.
  for (const char* command : {"run -p hi", "bench -p 8 -n 0 -r 1", "perplexity -f /dev/null"}) {
    const auto r = run(std::string(command) + " -m " + kStories + " --cache-type-v q8_0");
    EXPECT_EQ(r.exit_code, 2) << command;
    EXPECT_NE(r.err.find("--cache-type-v q8_0: the model's head size 8 is not a multiple of the type's block of 32"),
              std::string::npos)
        << command << ": " << r.err;
  }
  const auto deep = run("bench -m " + kStories + " -p 8 -n 8 -d 1000 -r 1");  // its file says 128
  EXPECT_EQ(deep.exit_code, 2);
  EXPECT_NE(deep.err.find("beyond the model's context of 128 tokens"), std::string::npos) << deep.err;
}

}  // namespace
}  // namespace mx
