// `moxing serve` from the command line: what stops it before it listens.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>

#include "cli_runner.h"
#include "test_paths.h"

namespace mx {
namespace {

TEST(ServeCli, SeveralModelsWithAMissingFileStopBeforeListening) {
  const auto r = test::run_cli("serve --port 0 -m " + test::shared_path("models/stories260K.gguf") +
                               " -m /no/such/model.gguf");
  EXPECT_EQ(r.exit_code, 3) << r.err;  // kExitBadModel
  EXPECT_NE(r.err.find("/no/such/model.gguf: no such file"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("listening"), std::string::npos) << r.err;
}

// One model that cannot be loaded: serve has already started listening, and must still end
// at once with the error and exit code 3 (it used to hang, as its listener started after the
// stop). `timeout` turns a hang into exit code 124.
TEST(ServeCli, AModelThatCannotBeLoadedEndsServeAtOnce) {
  const std::string bad = test::temp_file("not_a_model") + ".gguf";
  test::write_file(bad, "garbage, not GGUF");
  for (const std::string& model : {bad, std::string("/no/such/model.gguf")}) {
    const std::string cmd = "timeout 30 " + std::string(MOXING_BINARY) + " serve --port 0 -m " + model + " 2>/dev/null";
    const int status = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(status)) << model;
    EXPECT_EQ(WEXITSTATUS(status), 3) << model;
  }
  std::remove(bad.c_str());
}

}  // namespace
}  // namespace mx
