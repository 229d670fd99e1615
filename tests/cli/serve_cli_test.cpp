// `moxing serve` from the command line: what stops it before it listens.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace mx
