// `moxing pull` killed with SIGKILL mid-download: no file under its final name (blob, snapshot
// link, URL cache file or sidecar), only the partial, which the next pull resumes and checks.
// A file that changed on its server since is fetched whole again (If-Range), not spliced.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include "hub/file_download.h"
#include "hub/hub_fixture.h"
#include "hub/pull.h"

namespace mx::test {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

hub::ModelRef ref_of(const std::string& name) { return *hub::parse_model_ref(name); }

// `moxing -q pull NAME` in a child process (HF_HOME and HF_ENDPOINT come from the fixture).
pid_t start_pull(const std::string& name) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    ::execl(MOXING_BINARY, "moxing", "-q", "pull", name.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Kills `child` with SIGKILL once `partial` holds at least `bytes`: mid-transfer, since the
// fake hub sends the rest slowly. Fails if the pull ends first or nothing comes.
::testing::AssertionResult kill_mid_transfer(pid_t child, const std::string& partial, uint64_t bytes) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    std::error_code ec;
    const uintmax_t size = fs::file_size(partial, ec);
    if (!ec && size >= bytes) break;
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) == child)
      return ::testing::AssertionFailure() << "the pull ended (status " << status << ") before it was killed";
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      return ::testing::AssertionFailure() << partial << " got no " << bytes << " bytes in 30 s";
    }
    std::this_thread::sleep_for(1ms);  // polling a file another process writes
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
    return ::testing::AssertionFailure() << "the pull was not killed (status " << status << ")";
  return ::testing::AssertionSuccess();
}

TEST_F(HubTest, APullKilledMidDownloadLeavesOnlyItsPartialAndTheNextPullResumesIt) {
  hub_.chunk_delay_ms = 50;  // 64 KiB every 50 ms: the 760 KB file takes over half a second
  const std::string sha = FakeHub::sha256_of(qwen_q4k);
  const std::string repo = cache_dir() + "/models--acme--stories-GGUF";
  const std::string blob = repo + "/blobs/" + sha, partial = blob + ".incomplete";
  const std::string link = repo + "/snapshots/" + single_commit + "/stories-Q4_K_M.gguf";
  const pid_t child = start_pull("acme/stories-GGUF:Q4_K_M");
  ASSERT_GT(child, 0);
  ASSERT_TRUE(kill_mid_transfer(child, partial, 64 << 10));

  EXPECT_FALSE(fs::exists(blob));
  EXPECT_FALSE(fs::exists(fs::symlink_status(link))) << "not even a dangling link";
  const std::string kept = read_file(partial);
  EXPECT_GE(kept.size(), 64u << 10);
  EXPECT_LT(kept.size(), qwen_q4k.size());
  EXPECT_TRUE(kept == qwen_q4k.substr(0, kept.size())) << "the partial is the file's start";
  EXPECT_EQ(read_file(hub::validator_path(partial)), "\"" + sha + "\"") << "the CDN's ETag, for If-Range";

  hub_.chunk_delay_ms = 0;
  ASSERT_EQ(hub_.range_responses, 0);
  auto pulled = hub::pull_model(ref_of("acme/stories-GGUF:Q4_K_M"), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(hub_.if_range_requests, 1);
  EXPECT_EQ(hub_.range_responses, 1) << "the same file: only the rest was sent";
  EXPECT_EQ(pulled->paths.at(0), link);
  EXPECT_EQ(FakeHub::sha256_of(read_file(blob)), sha);
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_FALSE(fs::exists(hub::validator_path(partial)));
}

TEST_F(HubTest, AFileChangedOnItsServerSinceAKilledPullIsFetchedWholeNotSpliced) {
  const std::string url = fmt::format("http://127.0.0.1:{}/files/m.gguf", hub_.port());
  const std::string path = fmt::format("{}/127.0.0.1:{}/files/m.gguf", url_cache_dir(), hub_.port());
  const std::string partial = path + ".incomplete";
  // Its ETag is no sha256, so no checksum would catch a splice: only If-Range can.
  const std::string before = "GGUF" + random_bytes(600000, 7), after = "GGUF" + random_bytes(500000, 8);
  hub_.add_file("m.gguf", before);
  hub_.chunk_delay_ms = 50;
  const pid_t child = start_pull(url);
  ASSERT_GT(child, 0);
  ASSERT_TRUE(kill_mid_transfer(child, partial, 64 << 10));
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".json"));
  const std::string kept = read_file(partial);
  EXPECT_TRUE(kept == before.substr(0, kept.size()));

  hub_.add_file("m.gguf", after);  // the server's file changes, and so does its ETag
  hub_.chunk_delay_ms = 0;
  auto pulled = hub::pull_model(ref_of(url), settings());
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(hub_.if_range_requests, 1) << "the resume named the file its bytes came from";
  EXPECT_EQ(hub_.range_responses, 0) << "the server sent the new file whole";
  EXPECT_EQ(FakeHub::sha256_of(read_file(path)), FakeHub::sha256_of(after)) << "not the old start and the new end";
  const std::string sidecar = read_file(path + ".json");
  EXPECT_NE(sidecar.find(FakeHub::sha256_of(after)), std::string::npos) << sidecar;
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_FALSE(fs::exists(hub::validator_path(partial)));
}

}  // namespace
}  // namespace mx::test
