// Pulling a GGUF file by plain URL (not a hub repo) into moxing's URL cache: the sidecar,
// offline use, resume, split sets, list and rm, checksums from a sha256 ETag, and a token that
// stays with the hub.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "hub/hub_fixture.h"
#include "hub/pull.h"
#include "hub/url_cache.h"

namespace mx::test {
namespace {
namespace fs = std::filesystem;

hub::ModelRef ref_of(const std::string& name) {
  auto r = hub::parse_model_ref(name);
  EXPECT_TRUE(r) << name;
  return r ? *r : hub::ModelRef{};
}

class UrlPullTest : public HubTest {
 protected:
  // The fake hub's plain route; `host` "localhost" is another host than HF_ENDPOINT's 127.0.0.1.
  std::string url(const std::string& name, const std::string& host = "127.0.0.1") const {
    return fmt::format("http://{}:{}/files/{}", host, hub_.port(), name);
  }
  std::string cached_path(const std::string& name, const std::string& host = "127.0.0.1") const {
    return fmt::format("{}/{}:{}/files/{}", url_cache_dir(), host, hub_.port(), name);
  }
  nlohmann::json sidecar(const std::string& path) const {
    return nlohmann::json::parse(read_file(path + ".json"), nullptr, false);
  }
};

TEST_F(UrlPullTest, PullsIntoTheUrlCacheWithASidecar) {
  hub_.add_file("models/tiny-Q8_0.gguf", stories_q8);
  auto pulled = hub::pull_model(ref_of(url("models/tiny-Q8_0.gguf")), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  const std::string path = cached_path("models/tiny-Q8_0.gguf");
  ASSERT_EQ(pulled->paths, std::vector<std::string>{path});
  EXPECT_EQ(pulled->downloaded, 1);
  EXPECT_EQ(pulled->quant, "Q8_0");
  EXPECT_EQ(read_file(path), stories_q8);
  const nlohmann::json meta = sidecar(path);
  EXPECT_EQ(meta.value("url", ""), url("models/tiny-Q8_0.gguf"));
  EXPECT_EQ(meta.value("size", 0u), stories_q8.size());
  EXPECT_EQ(meta.value("sha256", ""), FakeHub::sha256_of(stories_q8));
  EXPECT_EQ(meta.value("etag", ""), FakeHub::sha256_of(stories_q8).substr(0, 16));
  EXPECT_FALSE(meta.value("time", "").empty());
  EXPECT_FALSE(fs::exists(path + ".incomplete"));
  EXPECT_FALSE(fs::exists(cache_dir()));  // nothing in the HF layout
  EXPECT_EQ(hub_.api_requests, 0);

  // Resolved again (as -m does): from the cache, no request at all.
  auto again = hub::resolve_model(url("models/tiny-Q8_0.gguf"), settings());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, path);
  auto pulled_again = hub::pull_model(ref_of(url("models/tiny-Q8_0.gguf")), settings());
  ASSERT_TRUE(pulled_again) << pulled_again.error().message;
  EXPECT_EQ(pulled_again->downloaded, 0);
  EXPECT_EQ(hub_.file_requests, 1);
}

TEST_F(UrlPullTest, FollowsARedirect) {
  hub_.add_file("tiny.gguf", stories_q8);
  auto path = hub::resolve_model(fmt::format("http://127.0.0.1:{}/go/tiny.gguf", hub_.port()), settings());
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(read_file(*path), stories_q8);
  EXPECT_EQ(*path, fmt::format("{}/127.0.0.1:{}/go/tiny.gguf", url_cache_dir(), hub_.port()));
}

TEST_F(UrlPullTest, OfflineUsesTheCacheOrSaysWhy) {
  hub_.add_file("tiny.gguf", stories_q8);
  hub::HubSettings offline = settings();
  offline.offline = true;
  auto missing = hub::resolve_model(url("tiny.gguf"), offline);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("not in the cache"), std::string::npos) << missing.error().message;
  EXPECT_NE(missing.error().message.find("HF_HUB_OFFLINE"), std::string::npos) << missing.error().message;
  EXPECT_EQ(hub_.file_requests, 0);

  ASSERT_TRUE(hub::pull_model(ref_of(url("tiny.gguf")), settings()));
  auto cached = hub::resolve_model(url("tiny.gguf"), offline);
  ASSERT_TRUE(cached) << cached.error().message;
  EXPECT_EQ(read_file(*cached), stories_q8);
  EXPECT_EQ(hub_.file_requests, 1);
}

TEST_F(UrlPullTest, ResumesADroppedConnectionAndAnEarlierPartial) {
  hub_.add_file("a.gguf", stories_q8);
  hub_.drop_next_after = 100000;
  auto pulled = hub::pull_model(ref_of(url("a.gguf")), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(read_file(pulled->paths.at(0)), stories_q8);
  EXPECT_EQ(hub_.file_requests, 2);
  EXPECT_EQ(hub_.range_requests, 1);
  EXPECT_EQ(sidecar(pulled->paths.at(0)).value("sha256", ""), FakeHub::sha256_of(stories_q8));

  // A partial left by an earlier run is continued, not fetched again.
  hub_.add_file("b.gguf", stories_f16);
  const std::string path = cached_path("b.gguf");
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path + ".incomplete", std::ios::binary) << stories_f16.substr(0, 50000);
  pulled = hub::pull_model(ref_of(url("b.gguf")), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(read_file(path), stories_f16);
  EXPECT_EQ(hub_.range_requests, 2);
  EXPECT_EQ(sidecar(path).value("sha256", ""), FakeHub::sha256_of(stories_f16));
}

TEST_F(UrlPullTest, AServerWithoutRangesSendsItAllAgain) {
  hub_.add_file("r.gguf", stories_q8);
  hub_.ignore_ranges = true;
  hub_.drop_next_after = 100000;
  auto pulled = hub::pull_model(ref_of(url("r.gguf")), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(read_file(pulled->paths.at(0)), stories_q8);  // restarted, not appended
  EXPECT_EQ(hub_.file_requests, 2);
  EXPECT_EQ(sidecar(pulled->paths.at(0)).value("sha256", ""), FakeHub::sha256_of(stories_q8));
}

TEST_F(UrlPullTest, ChecksAnEtagThatIsASha256) {
  hub_.add_file("c.gguf", stories_q8);
  hub_.plain_sha_etag = true;
  hub_.corrupt = true;
  auto bad = hub::pull_model(ref_of(url("c.gguf")), settings());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("checksum mismatch"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(fs::exists(cached_path("c.gguf")));
  EXPECT_FALSE(fs::exists(cached_path("c.gguf") + ".incomplete"));
  hub_.corrupt = false;
  auto good = hub::pull_model(ref_of(url("c.gguf")), settings());
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_EQ(sidecar(good->paths.at(0)).value("etag", ""), FakeHub::sha256_of(stories_q8));
}

TEST_F(UrlPullTest, PullsEveryShardOfASplitSet) {
  const std::vector<std::string> shards{stories_q8, "GGUF" + random_bytes(200000, 2), "GGUF" + random_bytes(150000, 3)};
  for (int i = 0; i < 3; ++i) hub_.add_file(fmt::format("big-Q8_0-{:05d}-of-00003.gguf", i + 1), shards[i]);
  const std::string first = url("big-Q8_0-00001-of-00003.gguf");
  auto pulled = hub::pull_model(ref_of(first), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  ASSERT_EQ(pulled->paths.size(), 3u);
  EXPECT_EQ(pulled->downloaded, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(read_file(pulled->paths[i]), shards[i]) << i;

  const std::vector<hub::CachedModel> listed = hub::UrlCache(url_cache_dir()).list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name(), first);
  EXPECT_EQ(listed[0].files, pulled->paths);
  EXPECT_EQ(listed[0].size, shards[0].size() + shards[1].size() + shards[2].size());

  ASSERT_TRUE(hub::UrlCache(url_cache_dir()).remove(first));
  for (const std::string& p : pulled->paths) EXPECT_FALSE(fs::exists(p)) << p;
}

TEST_F(UrlPullTest, ListsAndRemoves) {
  hub_.add_file("x/one-Q8_0.gguf", stories_q8);
  hub_.add_file("two.gguf", stories_f16);
  ASSERT_TRUE(hub::pull_model(ref_of(url("x/one-Q8_0.gguf")), settings()));
  ASSERT_TRUE(hub::pull_model(ref_of(url("two.gguf")), settings()));
  const hub::UrlCache cache(url_cache_dir());
  std::vector<hub::CachedModel> listed = cache.list();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].name(), url("two.gguf"));
  EXPECT_EQ(listed[0].quant, "two");
  EXPECT_EQ(listed[1].name(), url("x/one-Q8_0.gguf"));
  EXPECT_EQ(listed[1].quant, "Q8_0");

  ASSERT_TRUE(cache.remove(url("x/one-Q8_0.gguf")));
  EXPECT_FALSE(fs::exists(fs::path(cached_path("x/one-Q8_0.gguf")).parent_path()));  // its empty folder too
  listed = cache.list();
  ASSERT_EQ(listed.size(), 1u);
  auto again = cache.remove(url("x/one-Q8_0.gguf"));
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("not in the cache"), std::string::npos) << again.error().message;
}

TEST_F(UrlPullTest, TheTokenStaysWithTheHub) {
  hub_.add_file("d.gguf", stories_q8);
  ::setenv("HF_TOKEN", FakeHub::kToken, 1);
  ASSERT_TRUE(hub::pull_model(ref_of(url("d.gguf", "localhost")), settings()));
  ASSERT_TRUE(hub::pull_model(ref_of(fmt::format("http://localhost:{}/go/d.gguf", hub_.port())), settings()));
  EXPECT_EQ(hub_.file_requests, 2);
  EXPECT_EQ(hub_.file_requests_with_token, 0);
  // The hub's own host (HF_ENDPOINT) may see it.
  ASSERT_TRUE(hub::pull_model(ref_of(url("d.gguf")), settings()));
  EXPECT_EQ(hub_.file_requests_with_token, 1);
  ::unsetenv("HF_TOKEN");
}

TEST_F(UrlPullTest, TwoPullsOfOneUrlDownloadOnce) {
  hub_.add_file("e.gguf", "GGUF" + random_bytes(400000, 5));
  hub_.chunk_delay_ms = 5;
  Expected<hub::PulledModel> results[2] = {make_error("not run"), make_error("not run")};
  std::thread a([&] { results[0] = hub::pull_model(ref_of(url("e.gguf")), settings()); });
  std::thread b([&] { results[1] = hub::pull_model(ref_of(url("e.gguf")), settings()); });
  a.join();
  b.join();
  ASSERT_TRUE(results[0] && results[1]);
  EXPECT_EQ(results[0]->downloaded + results[1]->downloaded, 1);
  EXPECT_EQ(hub_.file_requests, 1);
}

TEST_F(UrlPullTest, MissingFileOrAPageSaysSo) {
  auto r = hub::pull_model(ref_of(url("nope.gguf")), settings());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not exist (HTTP 404)"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(cached_path("nope.gguf") + ".incomplete"));
  // A web page where a model was expected is not kept.
  hub_.add_file("page.gguf", "<!doctype html><html>sign in</html>");
  r = hub::pull_model(ref_of(url("page.gguf")), settings());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not a GGUF file"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(cached_path("page.gguf")));
  EXPECT_FALSE(fs::exists(cached_path("page.gguf") + ".incomplete"));
}

// The binary: pull, list and rm by URL.
std::string run_moxing(const std::string& args, int* exit_code) {
  std::string out;
  FILE* p = ::popen((std::string(MOXING_BINARY) + " " + args + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST_F(UrlPullTest, CliPullListRemove) {
  hub_.add_file("cli/tiny-Q8_0.gguf", stories_q8);
  int code = -1;
  std::string out = run_moxing("pull " + url("cli/tiny-Q8_0.gguf"), &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find(cached_path("cli/tiny-Q8_0.gguf")), std::string::npos) << out;
  out = run_moxing("list", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find(url("cli/tiny-Q8_0.gguf")), std::string::npos) << out;
  EXPECT_NE(out.find("llama"), std::string::npos) << out;
  out = run_moxing("rm " + url("cli/tiny-Q8_0.gguf"), &code);
  ASSERT_EQ(code, 0) << out;
  out = run_moxing("list", &code);
  EXPECT_EQ(out.find(url("cli/tiny-Q8_0.gguf")), std::string::npos) << out;
  out = run_moxing("rm " + url("cli/tiny-Q8_0.gguf"), &code);
  EXPECT_EQ(code, 1) << out;
}

}  // namespace
}  // namespace mx::test
