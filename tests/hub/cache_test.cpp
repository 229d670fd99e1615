// The cache as huggingface_hub lays it out: found by `list`, resolved by name, removed by `rm`.
#include <gtest/gtest.h>

#include <filesystem>

#include "hub/hub_cache.h"
#include "hub/hub_fixture.h"
#include "hub/pull.h"

namespace mx::test {
namespace {
namespace fs = std::filesystem;

hub::ModelRef ref_of(const std::string& name) { return *hub::parse_model_ref(name); }

std::vector<std::string> names(const std::vector<hub::CachedModel>& models) {
  std::vector<std::string> out;
  for (const auto& m : models) out.push_back(m.name());
  return out;
}

// Writes a snapshot exactly as huggingface_hub's hf_hub_download leaves it.
void write_hf_snapshot(const std::string& cache, const std::string& folder, const std::string& commit,
                       const std::map<std::string, std::string>& files) {
  const std::string repo = cache + "/" + folder;
  fs::create_directories(repo + "/refs");
  std::ofstream(repo + "/refs/main") << commit;
  for (const auto& [path, bytes] : files) {
    const std::string sha = FakeHub::sha256_of(bytes);
    fs::create_directories(repo + "/blobs");
    std::ofstream(repo + "/blobs/" + sha, std::ios::binary) << bytes;
    const fs::path link = repo + "/snapshots/" + commit + "/" + path;
    fs::create_directories(link.parent_path());
    std::string target = "../../";
    for (char c : path) target += c == '/' ? "../" : "";
    fs::create_symlink(target + "blobs/" + sha, link);
  }
  fs::create_directories(cache + "/.locks/" + folder);
}

TEST_F(HubTest, FindsATreeHuggingfaceHubWrote) {
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  write_hf_snapshot(cache_dir(), "models--someone--Tiny-GGUF", commit,
                    {{"Tiny-Q8_0.gguf", stories_q8},
                     {"sub/Tiny-F16.gguf", stories_f16},
                     {"config.json", "{\"model_type\": \"llama\"}"},
                     {"tokenizer.model", random_bytes(500, 9)},
                     {"mmproj-Tiny-F16.gguf", random_bytes(100, 4)}});
  // A dataset and a half-written model are not models to list.
  fs::create_directories(cache_dir() + "/datasets--x--y/snapshots/abc");
  const std::vector<hub::CachedModel> models = hub::HubCache(cache_dir()).list();
  EXPECT_EQ(names(models), (std::vector<std::string>{"someone/Tiny-GGUF:F16", "someone/Tiny-GGUF:Q8_0"}));
  EXPECT_EQ(models.at(1).size, stories_q8.size());
  EXPECT_EQ(models.at(1).commit, commit);

  ::setenv("HF_HUB_OFFLINE", "1", 1);
  auto path = hub::resolve_model("someone/Tiny-GGUF:q8_0", settings());
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(*path, cache_dir() + "/models--someone--Tiny-GGUF/snapshots/" + commit + "/Tiny-Q8_0.gguf");
  path = hub::resolve_model("hf.co/someone/Tiny-GGUF:F16", settings());
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(read_file(*path), stories_f16);
  EXPECT_EQ(hub_.api_requests, 0);
}

TEST_F(HubTest, ListsPulledModelsAndSplitSetsOnce) {
  ASSERT_TRUE(hub::pull_model(ref_of("acme/split-GGUF:Q8_0"), settings()));
  ASSERT_TRUE(hub::pull_model(ref_of("acme/stories-GGUF:Q8_0"), settings()));
  const auto models = hub::HubCache(cache_dir()).list();
  EXPECT_EQ(names(models), (std::vector<std::string>{"acme/split-GGUF:Q8_0", "acme/stories-GGUF:Q8_0"}));
  EXPECT_EQ(models.at(0).files.size(), 3u);
  EXPECT_EQ(models.at(0).size, stories_q8.size() + 200000 + 150000);
}

TEST_F(HubTest, RemoveKeepsBlobsOthersUse) {
  ASSERT_TRUE(hub::pull_model(ref_of("acme/stories-GGUF:Q8_0"), settings()));
  ASSERT_TRUE(hub::pull_model(ref_of("acme/stories-GGUF:F16"), settings()));
  // A new commit of the repo that still has the same Q8_0 bytes: one blob, two links.
  FakeRepo next;
  next.files["stories-Q8_0.gguf"] = stories_q8;
  next.files["stories-Q4_K_M.gguf"] = qwen_q4k;
  const std::string new_commit = hub_.add_repo("acme/stories-GGUF", next);
  ASSERT_TRUE(hub::pull_model(ref_of("acme/stories-GGUF:Q8_0"), settings()));
  const std::string repo = cache_dir() + "/models--acme--stories-GGUF";
  EXPECT_EQ(read_file(repo + "/refs/main"), new_commit);

  const hub::HubCache cache(cache_dir());
  auto removed = cache.remove("acme/stories-GGUF", "f16");
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(fs::exists(repo + "/blobs/" + FakeHub::sha256_of(stories_f16)));
  EXPECT_TRUE(fs::exists(repo + "/blobs/" + FakeHub::sha256_of(stories_q8)));

  auto missing = cache.remove("acme/stories-GGUF", "Q2_K");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cached: Q8_0"), std::string::npos) << missing.error().message;

  removed = cache.remove("acme/stories-GGUF", "Q8_0");  // both snapshots' links, then the blob
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_FALSE(fs::exists(repo));
  EXPECT_TRUE(cache.list().empty());

  ASSERT_TRUE(hub::pull_model(ref_of("acme/split-GGUF:Q8_0"), settings()));
  removed = cache.remove("acme/split-GGUF", "");
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(fs::exists(cache_dir() + "/models--acme--split-GGUF"));
  EXPECT_FALSE(cache.remove("acme/split-GGUF", ""));
}

}  // namespace
}  // namespace mx::test
