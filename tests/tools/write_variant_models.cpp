// Writes the rope-variant models of tests/variant_models.h into a folder, for the
// reference engine to compute their goldens (docs/goldens.md).
#include <cstdio>

#include "test_paths.h"
#include "variant_models.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  for (const auto& m : mx::test::variant_models()) {
    const std::string out = std::string(argv[1]) + "/" + m.name + ".gguf";
    if (auto st = mx::test::write_variant(m, out); !st) {
      std::fprintf(stderr, "%s: %s\n", out.c_str(), st.error().message.c_str());
      return 1;
    }
    std::printf("%s\n", out.c_str());
  }
  return 0;
}
