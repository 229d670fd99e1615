// Base64 against RFC 4648's test vectors and every length remainder.
#include "core/base64.h"

#include <gtest/gtest.h>

namespace mx {
namespace {

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, HighBytesUseTheWholeAlphabet) {
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\xfd\x00\x01", 5)), "//79AAE=");
  EXPECT_EQ(base64_encode(std::string("\xfb\xef\xbe", 3)), "++++");
}

}  // namespace
}  // namespace mx
