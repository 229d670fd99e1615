#include "hub/sha256_stream.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "core/expected.h"

namespace mx::hub {

struct Sha256Stream::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256Stream::Sha256Stream() : state_(std::make_unique<State>()) {
  MX_CHECK(state_->ctx != nullptr);
  reset();
}

Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::reset() { MX_CHECK(EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) == 1); }

void Sha256Stream::update(const void* data, size_t n) {
  MX_CHECK(EVP_DigestUpdate(state_->ctx, data, n) == 1);
}

std::string Sha256Stream::hex_digest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  MX_CHECK(EVP_DigestFinal_ex(state_->ctx, digest, &len) == 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

bool hash_file_prefix(int fd, uint64_t length, Sha256Stream& sha) {
  std::vector<char> buf(4 << 20);
  uint64_t done = 0;
  while (done < length) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), length - done));
    const ssize_t got = ::pread(fd, buf.data(), want, static_cast<off_t>(done));
    if (got <= 0) return false;
    sha.update(buf.data(), static_cast<size_t>(got));
    done += static_cast<uint64_t>(got);
  }
  return true;
}

}  // namespace mx::hub
