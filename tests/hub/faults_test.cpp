// What goes wrong on the way: dropped connections, wrong bytes, refused or missing repos,
// two pullers at once, a full disk. The cache must never hold a bad blob.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include "hub/hub_cache.h"
#include "hub/hub_fixture.h"
#include "hub/pull.h"

namespace mx::test {
namespace {
namespace fs = std::filesystem;

hub::ModelRef ref_of(const std::string& name) { return *hub::parse_model_ref(name); }

// Every blob in the cache holds the bytes its name (sha256) says, and no partial is left.
void expect_cache_sound(const std::string& cache) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(cache, ec); !ec && it != fs::recursive_directory_iterator(); ++it) {
    if (it->path().parent_path().filename() != "blobs") continue;
    const std::string name = it->path().filename().string();
    EXPECT_EQ(name.find(".incomplete"), std::string::npos) << it->path();
    if (name.size() == 64) EXPECT_EQ(FakeHub::sha256_of(read_file(it->path().string())), name) << it->path();
  }
}

TEST_F(HubTest, ResumesAfterADroppedConnection) {
  hub_.drop_next_after = 100000;  // of a 760 KB file
  auto pulled = hub::pull_model(ref_of("acme/stories-GGUF:Q4_K_M"), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(read_file(pulled->paths.at(0)), qwen_q4k);
  EXPECT_EQ(hub_.file_requests, 2);
  EXPECT_EQ(hub_.range_requests, 1);
  expect_cache_sound(cache_dir());
}

TEST_F(HubTest, ResumesFromAPartialLeftByAnEarlierRun) {
  const std::string sha = FakeHub::sha256_of(stories_q8);
  const std::string blobs = cache_dir() + "/models--acme--stories-GGUF/blobs/";
  fs::create_directories(blobs);
  std::ofstream(blobs + sha + ".incomplete", std::ios::binary) << stories_q8.substr(0, 123457);
  auto pulled = hub::pull_model(ref_of("acme/stories-GGUF:Q8_0"), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(read_file(pulled->paths.at(0)), stories_q8);
  EXPECT_EQ(hub_.range_requests, 1);
  // A server that ignores Range sends the whole file again: it starts over, still correct.
  fs::remove_all(cache_dir());
  fs::create_directories(blobs);
  std::ofstream(blobs + sha + ".incomplete", std::ios::binary) << stories_q8.substr(0, 5000);
  hub_.ignore_ranges = true;
  pulled = hub::pull_model(ref_of("acme/stories-GGUF:Q8_0"), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(read_file(pulled->paths.at(0)), stories_q8);
  expect_cache_sound(cache_dir());
}

TEST_F(HubTest, WrongChecksumDeletesThePartial) {
  hub_.corrupt = true;
  auto pulled = hub::pull_model(ref_of("acme/stories-GGUF:Q8_0"), settings());
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message.find("checksum mismatch"), std::string::npos) << pulled.error().message;
  const std::string blob = cache_dir() + "/models--acme--stories-GGUF/blobs/" + FakeHub::sha256_of(stories_q8);
  EXPECT_FALSE(fs::exists(blob));
  EXPECT_FALSE(fs::exists(blob + ".incomplete"));
  EXPECT_FALSE(fs::exists(cache_dir() + "/models--acme--stories-GGUF/snapshots/" + single_commit + "/stories-Q8_0.gguf"));
  hub_.corrupt = false;  // the next try succeeds
  ASSERT_TRUE(hub::pull_model(ref_of("acme/stories-GGUF:Q8_0"), settings()));
  expect_cache_sound(cache_dir());
}

TEST_F(HubTest, ContentsChangedSinceTheListingStopBeforeDownloading) {
  hub_.stale_listing = true;
  auto pulled = hub::pull_model(ref_of("acme/stories-GGUF:Q8_0"), settings());
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message.find("changed during the pull"), std::string::npos) << pulled.error().message;
  EXPECT_FALSE(fs::exists(cache_dir() + "/models--acme--stories-GGUF/blobs/" + FakeHub::sha256_of(stories_q8)));
  expect_cache_sound(cache_dir());
}

TEST_F(HubTest, GatedRepoAsksForAToken) {
  auto pulled = hub::pull_model(ref_of("acme/gated-GGUF"), settings());
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message.find("HF_TOKEN"), std::string::npos) << pulled.error().message;
  EXPECT_NE(pulled.error().message.find("401"), std::string::npos) << pulled.error().message;
  ::setenv("HF_TOKEN", FakeHub::kToken, 1);
  pulled = hub::pull_model(ref_of("acme/gated-GGUF"), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(read_file(pulled->paths.at(0)), qwen_q4k);
  EXPECT_EQ(hub_.file_requests_with_token, 0);  // curl drops the token on the redirect to another host
}

TEST_F(HubTest, MissingRepoSaysSo) {
  auto pulled = hub::pull_model(ref_of("acme/no-such-repo"), settings());
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message.find("does not exist"), std::string::npos) << pulled.error().message;
  EXPECT_FALSE(fs::exists(cache_dir() + "/models--acme--no-such-repo"));
}

TEST_F(HubTest, MissingQuantListsTheOnesThatExist) {
  auto pulled = hub::pull_model(ref_of("acme/stories-GGUF:IQ2_XXS"), settings());
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message.find("F16, Q4_K_M, Q8_0"), std::string::npos) << pulled.error().message;
  EXPECT_EQ(hub_.file_requests, 0);
}

TEST_F(HubTest, UnreachableHubIsAClearError) {
  ::setenv("HF_ENDPOINT", "http://127.0.0.1:1", 1);
  auto pulled = hub::pull_model(ref_of("acme/stories-GGUF"), settings());
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message.find("cannot reach http://127.0.0.1:1"), std::string::npos)
      << pulled.error().message;
}

TEST_F(HubTest, TwoPullsOfOneFileDownloadItOnce) {
  hub_.chunk_delay_ms = 2;  // ~12 chunks of 64 KiB: the second puller arrives mid-download
  std::vector<std::string> errors(2), paths(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&, i] {
      auto p = hub::pull_model(ref_of("acme/stories-GGUF:Q4_K_M"), settings());
      if (p) paths[i] = p->paths.at(0);
      else errors[i] = p.error().message;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(paths[0], paths[1]);
  EXPECT_EQ(read_file(paths[0]), qwen_q4k);
  EXPECT_EQ(hub_.file_requests, 1);
  expect_cache_sound(cache_dir());
}

// Two processes (the lock is flock on a file, so it holds across processes as across threads).
TEST_F(HubTest, TwoProcessesPullOneFileOnce) {
  hub_.chunk_delay_ms = 2;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto pulled = hub::pull_model(ref_of("acme/stories-GGUF:Q4_K_M"), settings());
    ::_exit(pulled && read_file(pulled->paths.at(0)) == qwen_q4k ? 0 : 1);
  }
  auto pulled = hub::pull_model(ref_of("acme/stories-GGUF:Q4_K_M"), settings());
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(read_file(pulled->paths.at(0)), qwen_q4k);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(hub_.file_requests, 1);
  expect_cache_sound(cache_dir());
}

// A real write error: a child process may write at most 64 KiB per file (RLIMIT_FSIZE), with
// SIGXFSZ ignored so write() fails with EFBIG as on a full disk.
TEST_F(HubTest, FullDiskReportsAndKeepsTheCacheSound) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{64 << 10, 64 << 10};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    auto pulled = hub::pull_model(ref_of("acme/stories-GGUF:Q8_0"), settings());
    const std::string message = pulled ? std::string("pulled") : pulled.error().message;
    [[maybe_unused]] ssize_t w = ::write(fds[1], message.data(), message.size());
    ::_exit(pulled ? 0 : 1);
  }
  ::close(fds[1]);
  std::string message;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << message;
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;
  EXPECT_NE(message.find("disk full"), std::string::npos) << message;
  const std::string blob = cache_dir() + "/models--acme--stories-GGUF/blobs/" + FakeHub::sha256_of(stories_q8);
  EXPECT_FALSE(fs::exists(blob));
  EXPECT_FALSE(fs::exists(cache_dir() + "/models--acme--stories-GGUF/snapshots/" + single_commit + "/stories-Q8_0.gguf"));
  EXPECT_EQ(fs::file_size(blob + ".incomplete"), 64u << 10);  // kept whole, for a resume
  // With room again, the pull resumes from the partial and completes.
  auto pulled = hub::pull_model(ref_of("acme/stories-GGUF:Q8_0"), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(read_file(pulled->paths.at(0)), stories_q8);
  EXPECT_EQ(hub_.range_requests, 1);
  expect_cache_sound(cache_dir());
}

}  // namespace
}  // namespace mx::test
