// A fake Hugging Face hub on loopback serving one large GGUF-named file, for timing
// `moxing pull` against curl (scripts/pull_vs_curl.sh). Prints what to fetch, then serves
// until killed.
//   fake_hub_server [MiB [RATE]]   (default 1024 MiB; RATE in MiB/s paces every response like a
//                                  link of that speed, default unlimited)
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "hub/fake_hub.h"

int main(int argc, char** argv) {
  const uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1024;
  std::string bytes(mib << 20, '\0');
  uint64_t x = 0x9e3779b97f4a7c15ull;  // xorshift: incompressible bytes, fast to make
  for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    __builtin_memcpy(&bytes[i], &x, 8);
  }
  const std::string sha = mx::test::FakeHub::sha256_of(bytes);
  mx::test::FakeHub hub;
  if (argc > 2) hub.rate_mib_s = std::strtod(argv[2], nullptr);
  mx::test::FakeRepo repo;
  repo.files["big-Q8_0.gguf"] = std::move(bytes);
  hub.add_repo("bench/big-GGUF", std::move(repo));
  std::printf("endpoint %s\nrepo bench/big-GGUF:Q8_0\ncdn_url http://localhost:%d/cdn/%s\nsha256 %s\n",
              hub.endpoint().c_str(), hub.port(), sha.c_str(), sha.c_str());
  std::fflush(stdout);
  for (;;) ::pause();  // until SIGTERM
}
