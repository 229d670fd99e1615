// Speculative decoding from the command line: the same text with and without it, the
// acceptance in the summary, and clear errors for drafts that cannot work.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli/cli_runner.h"
#include "gguf_edit.h"

namespace mx {
namespace {

const std::string kStories = test::shared_path("models/stories260K.gguf");
const std::string kRun = "run -m " + kStories + " -p 'Once upon a time, there was a little girl named Lily.' -n 80 ";

TEST(SpeculationCli, DraftsChangeNotTheTextAndTheSummarySaysHowManyWereTaken) {
  for (const std::string sampling : {"--temp 0", "--temp 0.8 --seed 5"}) {
    const auto plain = test::run_cli(kRun + sampling);
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    for (const std::string speculation :
         {"--model-draft " + test::shared_path("models/stories260K-Q8_0.gguf") + " --draft-max 6",
          "--model-draft " + kStories + " --draft-p-min 0", std::string("--spec-ngram --draft-max 4")}) {
      const auto r = test::run_cli(kRun + sampling + " " + speculation);
      ASSERT_EQ(r.exit_code, 0) << speculation << ": " << r.err;
      EXPECT_EQ(r.out, plain.out) << sampling << " " << speculation;
      EXPECT_NE(r.err.find("speculation: "), std::string::npos) << r.err;
      EXPECT_NE(r.err.find(" accepted ("), std::string::npos) << r.err;
    }
  }
}

TEST(SpeculationCli, ADraftModelOfAnotherVocabularyIsRefused) {
  // stories260K with one token spelled otherwise: the draft would mean other text.
  gguf::Value tokens;
  {
    auto file = gguf::File::open(kStories);
    ASSERT_TRUE(file.ok());
    tokens = *file->find("tokenizer.ggml.tokens");
  }
  std::get<gguf::Array>(tokens.data).items.at(300).data = std::string("mismatch");
  const std::string draft = test::temp_path("other-vocab-draft.gguf");
  ASSERT_TRUE(test::write_edited(kStories, test::GgufEdit{}.with("tokenizer.ggml.tokens", tokens), draft).ok());
  const auto r = test::run_cli(kRun + "--model-draft " + draft);
  std::filesystem::remove(draft);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("the draft model's vocabulary differs from the model's: token 300 is 'mismatch' there"),
            std::string::npos)
      << r.err;
}

TEST(SpeculationCli, ConflictingOrMissingDraftsAreErrors) {
  const auto both = test::run_cli(kRun + "--spec-ngram --model-draft " + kStories);
  EXPECT_EQ(both.exit_code, 2) << both.err;
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
  const auto min_above_max = test::run_cli(kRun + "--spec-ngram --draft-max 4 --draft-min 8");
  EXPECT_EQ(min_above_max.exit_code, 2);
  EXPECT_NE(min_above_max.err.find("--draft-min 8 is above --draft-max 4"), std::string::npos) << min_above_max.err;
  const auto missing = test::run_cli(kRun + "--model-draft /nonexistent/draft.gguf");
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.err.find("draft model: "), std::string::npos) << missing.err;
  const auto several = test::run_cli("serve -m " + kStories + " -m " + kStories + " --port 0 --model-draft " + kStories);
  EXPECT_EQ(several.exit_code, 2);
  EXPECT_NE(several.err.find("--model-draft serves one model"), std::string::npos) << several.err;
}

}  // namespace
}  // namespace mx
