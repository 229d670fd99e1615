// The moxing binary's pull, list and rm, and -m with a name, against the fake hub.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>

#include "hub/hub_fixture.h"

namespace mx::test {
namespace {

struct CliRun {
  int exit_code;
  std::string output;  // stdout and stderr
};

// The child inherits HF_HOME and HF_ENDPOINT from the fixture.
CliRun moxing(const std::string& args) {
  CliRun r{-1, {}};
  FILE* p = ::popen((std::string(MOXING_BINARY) + " " + args + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST_F(HubTest, CliPullListRunRemove) {
  CliRun r = moxing("pull acme/stories-GGUF:Q8_0");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("/snapshots/" + single_commit + "/stories-Q8_0.gguf"), std::string::npos) << r.output;
  ASSERT_EQ(moxing("pull hf.co/acme/split-GGUF:q8_0").exit_code, 0);

  r = moxing("list");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("acme/stories-GGUF:Q8_0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("llama"), std::string::npos) << r.output;  // read from the GGUF
  EXPECT_NE(r.output.find("acme/split-GGUF:Q8_0"), std::string::npos) << r.output;

  // -m with a name: pulled on first use, then served from the cache.
  r = moxing("run -m acme/stories-GGUF:F16 -p 'Once upon a time' -n 4 --temp 0");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Once upon a time"), std::string::npos) << r.output;

  r = moxing("rm acme/stories-GGUF:F16 acme/split-GGUF");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = moxing("list");
  EXPECT_EQ(r.output.find("F16"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("split-GGUF"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("acme/stories-GGUF:Q8_0"), std::string::npos) << r.output;
}

TEST_F(HubTest, CliErrorsAndExitCodes) {
  CliRun r = moxing("pull acme/stories-GGUF:Q3_K_L");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("quantizations available: F16, Q4_K_M, Q8_0"), std::string::npos) << r.output;
  r = moxing("pull ./some/file.gguf");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = moxing("rm acme/stories-GGUF:Q8_0");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  r = moxing("run -m acme/no-such-repo -p hi -n 1");
  EXPECT_EQ(r.exit_code, 3) << r.output;  // kExitBadModel
  EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;
  for (const char* sub : {"pull", "list", "rm"}) EXPECT_EQ(moxing(std::string(sub) + " --help").exit_code, 0) << sub;
}

}  // namespace
}  // namespace mx::test
