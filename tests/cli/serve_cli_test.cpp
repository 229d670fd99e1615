// `moxing serve` from the command line: what stops it before it serves (each way a model can
// fail to load, a bad --config), what a config file sets, and how signals end it.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "cli_runner.h"
#include "gguf_edit.h"
#include "test_paths.h"

extern char** environ;

namespace mx {
namespace {

const std::string kStories = test::shared_path("models/stories260K.gguf");

// `moxing serve ARGS` as a child process whose stderr the test reads as it comes.
class ServeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& args) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> argv_text = {MOXING_BINARY, "serve"};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, MOXING_BINARY, &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    err_fd_ = fds[0];
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(err_fd_);
  }
  // Reads stderr until it holds `text` (true) or ends, or `seconds` pass (false).
  bool wait_for(const std::string& text, int seconds = 60) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (err_.find(text) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(static_cast<int>(left.count()))) return false;
    }
    return true;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // The exit code once it exits, -1 if it is still running after `seconds` (then killed) or
  // ends by a signal.
  int exit_code(int seconds = 60) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      if (!read_some(50)) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // stderr closed: exiting
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        while (read_some(0)) {
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
    }
    return -1;
  }
  const std::string& err() const { return err_; }

 private:
  bool read_some(int timeout_ms) {
    pollfd p{err_fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::read(err_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    err_.append(buf, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int err_fd_ = -1;
  bool exited_ = false;
  std::string err_;
};

std::string write_config(const std::string& stem, const std::string& text) {
  const std::string path = test::temp_file(stem) + ".toml";
  test::write_file(path, text);
  return path;
}

TEST(ServeCli, SeveralModelsWithAMissingFileStopBeforeListening) {
  const auto r = test::run_cli("serve --port 0 -m " + kStories + " -m /no/such/model.gguf");
  EXPECT_EQ(r.exit_code, 3) << r.err;  // kExitBadModel
  EXPECT_NE(r.err.find("/no/such/model.gguf: no such file"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("listening"), std::string::npos) << r.err;
}

// One model that cannot be loaded: serve has already started listening, and must still end
// at once with the error and exit code 3 (kExitBadModel), whatever the reason. `timeout`
// turns a hang into exit code 124.
TEST(ServeCli, EachWayAModelFailsToLoadEndsServeAtOnce) {
  const std::string garbage = test::temp_file("garbage") + ".gguf";
  test::write_file(garbage, "garbage, not GGUF");
  const std::string truncated = test::temp_file("truncated") + ".gguf";
  const std::string whole = test::read_text_file(kStories);
  test::write_file(truncated, whole.substr(0, whole.size() / 2));
  const std::string unknown_arch = test::temp_file("unknown_arch") + ".gguf";
  ASSERT_TRUE(test::write_edited(kStories, test::GgufEdit{}.with("general.architecture", {std::string("nosucharch")}),
                                 unknown_arch).ok());
  const std::pair<std::string, std::string> cases[] = {
      {"/no/such/model.gguf", "/no/such/model.gguf"},
      {garbage, garbage},
      {truncated, truncated},
      {unknown_arch, "architecture 'nosucharch' is not supported"},
  };
  for (const auto& [model, message] : cases) {
    ServeProcess serve({"--port", "0", "-m", model});
    EXPECT_EQ(serve.exit_code(), 3) << model << "\n" << serve.err();
    EXPECT_NE(serve.err().find(message), std::string::npos) << serve.err();
  }
  for (const std::string& f : {garbage, truncated, unknown_arch}) std::remove(f.c_str());
}

// A KV cache larger than this machine's memory is refused before it is allocated, naming the
// numbers (it used to end in std::bad_alloc or the OOM killer).
TEST(ServeCli, AKvCacheLargerThanMemoryIsRefused) {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t total_kib = 0;
  ASSERT_TRUE(meminfo >> key >> total_kib && key == "MemTotal:");
  // stories260K: 5 layers, keys and values of 32 floats each: 1280 bytes a position.
  const int64_t ctx = 4 * total_kib * 1024 / 1280;
  ServeProcess serve({"--port", "0", "--parallel", "1", "--prefix-cache", "0", "-c", std::to_string(ctx), "-m", kStories});
  EXPECT_EQ(serve.exit_code(), 3) << serve.err();
  EXPECT_NE(serve.err().find("not enough memory for " + kStories + ": its KV cache needs"), std::string::npos) << serve.err();
  EXPECT_EQ(serve.err().find("serving"), std::string::npos) << serve.err();
}

// Loading cannot be interrupted, and there is nothing to drain: a signal meanwhile ends serve
// at once. The model is a FIFO no one writes to, so loading blocks in open() for ever.
TEST(ServeCli, ASignalWhileLoadingEndsServeAtOnce) {
  const std::string fifo = test::temp_file("fifo") + ".gguf";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ServeProcess serve({"--port", "0", "-m", fifo});
  ASSERT_TRUE(serve.wait_for("loading " + fifo)) << serve.err();
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.exit_code(), 0) << serve.err();
  std::remove(fifo.c_str());
}

TEST(ServeCli, SigtermWhileServingDrainsAndExitsZero) {
  ServeProcess serve({"--port", "0", "-t", "1", "-m", kStories});
  ASSERT_TRUE(serve.wait_for("serving")) << serve.err();
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.exit_code(), 0) << serve.err();
  EXPECT_NE(serve.err().find("draining"), std::string::npos) << serve.err();
}

// The form /etc/moxing/serve.toml takes: every option by its long name, the command line winning.
TEST(ServeCli, AConfigFileSetsOptionsAndTheCommandLineWins) {
  // A port already taken: serve must fail to listen on the one the file names.
  const int taken = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(taken, reinterpret_cast<sockaddr*>(&addr), &len);
  ::listen(taken, 1);
  const int port = ntohs(addr.sin_port);
  const std::string config = write_config("serve", "# moxing serve\nport = " + std::to_string(port) + "\nmodel = \"" +
                                                       kStories + "\"\nparallel = 3\nalias = \"storyteller\"\n"
                                                       "drain-timeout = 5\nwrite-timeout = 10\nthreads = 1\n");
  const auto refused = test::run_cli("serve --config " + config);
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos) << refused.err;
  ::close(taken);

  {
    ServeProcess serve({"--config", config, "--port", "0"});
    EXPECT_TRUE(serve.wait_for("sequences at once)")) << serve.err();
    EXPECT_NE(serve.err().find("serving storyteller on http://127.0.0.1:"), std::string::npos) << serve.err();
    EXPECT_NE(serve.err().find("(3 sequences at once)"), std::string::npos) << serve.err();
    serve.signal(SIGTERM);
    EXPECT_EQ(serve.exit_code(), 0) << serve.err();
  }
  {
    ServeProcess serve({"--config", config, "--port", "0", "--parallel", "2"});
    EXPECT_TRUE(serve.wait_for("sequences at once)")) << serve.err();
    EXPECT_NE(serve.err().find("(2 sequences at once)"), std::string::npos) << serve.err();
    serve.signal(SIGTERM);
    EXPECT_EQ(serve.exit_code(), 0) << serve.err();
  }
  std::remove(config.c_str());
}

// Several models: an array, or the key repeated (anywhere in the file), or in a [serve] table.
// The second model is missing, so serve stops at once naming it: proof that both were read.
TEST(ServeCli, AConfigFileNamesSeveralModels) {
  const std::string texts[] = {
      "model = [\"" + kStories + "\", \"/no/such/second.gguf\"]\n",
      "model = \"" + kStories + "\"\nport = 0\nmodel = \"/no/such/second.gguf\"\n",
      "[serve]\nmodel = [\"" + kStories + "\", \"/no/such/second.gguf\"]\n",
  };
  for (const std::string& text : texts) {
    const std::string config = write_config("models", text);
    const auto r = test::run_cli("serve --config " + config);
    EXPECT_EQ(r.exit_code, 3) << text << r.err;
    EXPECT_NE(r.err.find("/no/such/second.gguf: no such file"), std::string::npos) << text << r.err;
    std::remove(config.c_str());
  }
}

TEST(ServeCli, AConfigFileWithAnUnknownKeyOrBadValueIsAUsageError) {
  const std::pair<std::string, std::string> cases[] = {
      {"model = \"x.gguf\"\nprot = 8080\n", "unknown key 'prot'"},
      {"parallel = \"many\"\n", "parallel"},
      {"port = 70000\n", "port"},
      {"[other]\nport = 1\n", "unknown table [other]"},
  };
  for (const auto& [text, message] : cases) {
    const std::string config = write_config("bad", text);
    const auto r = test::run_cli("serve --config " + config);
    EXPECT_EQ(r.exit_code, 2) << text << r.err;  // kExitUsage
    EXPECT_NE(r.err.find(config), std::string::npos) << text << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << text << r.err;
    std::remove(config.c_str());
  }
  const auto missing = test::run_cli("serve --config /no/such/serve.toml");
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
}

TEST(ServeCli, HelpDescribesTheConfigFile) {
  const auto r = test::run_cli("serve --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--config", "--drain-timeout", "--write-timeout", "long-name = value"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
}

}  // namespace
}  // namespace mx
