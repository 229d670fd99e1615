// Pulling from the fake hub into a fresh cache: the layout huggingface_hub makes, split sets,
// offline use, names resolved for `-m`.
#include <gtest/gtest.h>

#include <filesystem>

#include "hub/hub_cache.h"
#include "hub/hub_fixture.h"
#include "hub/pull.h"

namespace mx::test {
namespace {
namespace fs = std::filesystem;

hub::ModelRef ref_of(const std::string& name) {
  auto r = hub::parse_model_ref(name);
  EXPECT_TRUE(r);
  return *r;
}

TEST_F(HubTest, PullsTheDefaultQuantIntoTheHfLayout) {
  auto pulled = hub::pull_model(ref_of("acme/stories-GGUF"), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->quant, "Q4_K_M");
  EXPECT_EQ(pulled->commit, single_commit);
  EXPECT_EQ(pulled->downloaded, 1);
  const std::string repo = cache_dir() + "/models--acme--stories-GGUF";
  const std::string snap = repo + "/snapshots/" + single_commit + "/stories-Q4_K_M.gguf";
  ASSERT_EQ(pulled->paths, std::vector<std::string>{snap});
  EXPECT_TRUE(fs::is_symlink(snap));
  EXPECT_EQ(fs::read_symlink(snap).string(), "../../blobs/" + FakeHub::sha256_of(qwen_q4k));
  EXPECT_EQ(read_file(snap), qwen_q4k);
  EXPECT_EQ(read_file(repo + "/refs/main"), single_commit);
  EXPECT_TRUE(fs::exists(cache_dir() + "/.locks/models--acme--stories-GGUF/" + FakeHub::sha256_of(qwen_q4k) + ".lock"));
  EXPECT_FALSE(fs::exists(repo + "/blobs/" + FakeHub::sha256_of(qwen_q4k) + ".incomplete"));
  EXPECT_EQ(hub_.file_requests, 1);

  // A second pull finds everything cached and downloads nothing.
  auto again = hub::pull_model(ref_of("hf.co/acme/stories-GGUF:q4_k_m"), settings());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->downloaded, 0);
  EXPECT_EQ(hub_.file_requests, 1);
}

TEST_F(HubTest, PullsANamedQuantAndAFileUrl) {
  auto pulled = hub::pull_model(ref_of("acme/stories-GGUF:f16"), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(read_file(pulled->paths.at(0)), stories_f16);
  auto url = hub::pull_model(ref_of(hub_.endpoint() + "/acme/stories-GGUF/resolve/main/stories-Q8_0.gguf"), settings());
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(read_file(url->paths.at(0)), stories_q8);
}

TEST_F(HubTest, PullsEveryShardOfASplitSet) {
  auto pulled = hub::pull_model(ref_of("acme/split-GGUF:Q8_0"), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  ASSERT_EQ(pulled->paths.size(), 3u);
  EXPECT_EQ(pulled->downloaded, 3);
  EXPECT_EQ(fs::path(pulled->paths[0]).filename(), "big-Q8_0-00001-of-00003.gguf");
  EXPECT_EQ(fs::path(pulled->paths[0]).parent_path(), fs::path(pulled->paths[2]).parent_path());
  EXPECT_EQ(read_file(pulled->paths[0]), stories_q8);
  EXPECT_EQ(read_file(pulled->paths[1]), random_bytes(200000, 2));
  EXPECT_EQ(read_file(pulled->paths[2]), random_bytes(150000, 3));
  // -m with the name gives the first shard.
  auto path = hub::resolve_model("acme/split-GGUF:Q8_0", settings());
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(*path, pulled->paths[0]);
}

TEST_F(HubTest, ReadsEveryPageOfALongListing) {
  hub_.tree_page_size = 1;  // one entry a page: the shards are on different pages
  const int before = hub_.api_requests;
  auto pulled = hub::pull_model(ref_of("acme/split-GGUF:Q8_0"), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  ASSERT_EQ(pulled->paths.size(), 3u);
  EXPECT_EQ(read_file(pulled->paths[2]), random_bytes(150000, 3));
  EXPECT_GE(hub_.api_requests - before, 1 + 4);  // the commit, then a page per file and one for the folder
}

TEST_F(HubTest, ResolvesFilesNamesAndUncachedNames) {
  const std::string local = shared_path("models/stories260K-Q8_0.gguf");
  auto path = hub::resolve_model(local, settings());
  ASSERT_TRUE(path);
  EXPECT_EQ(*path, local);
  // A path that does not exist goes to the loader as is (its error says why), never to the hub.
  const int before = hub_.api_requests;
  auto missing = hub::resolve_model("/no/such/model.gguf", settings());
  ASSERT_TRUE(missing);
  EXPECT_EQ(*missing, "/no/such/model.gguf");
  EXPECT_EQ(hub_.api_requests, before);
  path = hub::resolve_model("acme/stories-GGUF:Q8_0", settings());  // not cached: pulled
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(read_file(*path), stories_q8);
  const int requests = hub_.api_requests;
  path = hub::resolve_model("acme/stories-GGUF:Q8_0", settings());  // cached: no request at all
  ASSERT_TRUE(path);
  EXPECT_EQ(hub_.api_requests, requests);
}

TEST_F(HubTest, OfflineUsesTheCacheOnly) {
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  auto missing = hub::pull_model(ref_of("acme/stories-GGUF:Q8_0"), settings());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("not in the cache"), std::string::npos) << missing.error().message;
  EXPECT_NE(missing.error().message.find("HF_HUB_OFFLINE"), std::string::npos) << missing.error().message;
  EXPECT_FALSE(hub::resolve_model("acme/stories-GGUF:Q8_0", settings()));
  EXPECT_EQ(hub_.api_requests, 0);

  ::unsetenv("HF_HUB_OFFLINE");
  ASSERT_TRUE(hub::pull_model(ref_of("acme/stories-GGUF:Q8_0"), settings()));
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  const int requests = hub_.api_requests;
  auto cached = hub::pull_model(ref_of("acme/stories-GGUF:q8_0"), settings());
  ASSERT_TRUE(cached) << cached.error().message;
  EXPECT_EQ(read_file(cached->paths.at(0)), stories_q8);
  auto other = hub::pull_model(ref_of("acme/stories-GGUF:F16"), settings());  // this quant was never pulled
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("Q8_0"), std::string::npos) << other.error().message;
  EXPECT_EQ(hub_.api_requests, requests);
}

TEST_F(HubTest, CacheDirFollowsTheEnvironment) {
  EXPECT_EQ(hub::hub_settings_from_environment().cache_dir, home_ + "/hub");
  ::setenv("HF_HUB_CACHE", (home_ + "/elsewhere").c_str(), 1);
  EXPECT_EQ(hub::hub_settings_from_environment().cache_dir, home_ + "/elsewhere");
  ::unsetenv("HF_HUB_CACHE");
  ::unsetenv("HF_HOME");
  ::setenv("XDG_CACHE_HOME", (home_ + "/xdg").c_str(), 1);
  EXPECT_EQ(hub::hub_settings_from_environment().cache_dir, home_ + "/xdg/huggingface/hub");
  ::unsetenv("XDG_CACHE_HOME");
  {
    std::ofstream(home_ + "/token") << "hf_from_file\n";
    ::setenv("HF_HOME", home_.c_str(), 1);
    EXPECT_EQ(hub::hub_settings_from_environment().token, "hf_from_file");
  }
}

}  // namespace
}  // namespace mx::test
