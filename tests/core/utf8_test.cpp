#include <gtest/gtest.h>

#include <string>

#include "core/utf8.h"

namespace mx::utf8 {
namespace {

const std::string R(kReplacement);

TEST(Utf8, ScanClassifiesCharacters) {
  EXPECT_EQ(scan("a").status, Status::kComplete);
  EXPECT_EQ(scan("\xC3\xA9").length, 2u);
  EXPECT_EQ(scan("\xE6\x95\xB0").length, 3u);
  EXPECT_EQ(scan("\xF0\x9F\x98\x80").length, 4u);
  EXPECT_EQ(scan("\xF0\x9F").status, Status::kIncomplete);
  EXPECT_EQ(scan("\xF0\x9F").length, 2u);
  // Stray continuation, C0/C1 (always overlong), F5+ (beyond U+10FFFF).
  for (const char* bad : {"\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xF5\x80\x80\x80", "\xFF"}) {
    EXPECT_EQ(scan(bad).status, Status::kInvalid) << bad;
    EXPECT_EQ(scan(bad).length, 1u);
  }
  // Overlong 3/4-byte forms, surrogates, > U+10FFFF: invalid at the second byte.
  for (const char* bad : {"\xE0\x80\x80", "\xED\xA0\x80", "\xF0\x80\x80\x80", "\xF4\x90\x80\x80"})
    EXPECT_EQ(scan(bad).status, Status::kInvalid) << bad;
  // A lead byte followed by a non-continuation: only the lead byte is the bad part.
  EXPECT_EQ(scan("\xE6" "a").length, 1u);
  EXPECT_EQ(scan("\xE6\x95" "a").length, 2u);
  EXPECT_EQ(scan("\xE6\x95" "a").status, Status::kInvalid);
}

TEST(Utf8, SanitizeReplacesMaximalSubparts) {
  EXPECT_EQ(sanitize("plain 数据 😀"), "plain 数据 😀");
  EXPECT_EQ(sanitize("a\x80" "b"), "a" + R + "b");
  EXPECT_EQ(sanitize("\x80\x80"), R + R);  // one per stray continuation byte
  EXPECT_EQ(sanitize("\xF0\x9F\x98" "a"), R + "a");  // truncated 4-byte char: one U+FFFD
  EXPECT_EQ(sanitize("\xF0\x9F\x98"), R);
  EXPECT_EQ(sanitize("\xED\xA0\x80"), R + R + R);  // surrogate: each byte is its own subpart
  EXPECT_EQ(sanitize("\xC3\xA9\xC3"), "\xC3\xA9" + R);
  EXPECT_TRUE(is_valid("数据"));
  EXPECT_FALSE(is_valid("\xE6\x95"));
  EXPECT_TRUE(is_valid(""));
}

TEST(Utf8, ValidPrefixMayEndInsideItsLastCharacterOnly) {
  EXPECT_TRUE(is_valid_prefix(""));
  EXPECT_TRUE(is_valid_prefix("数据"));
  EXPECT_TRUE(is_valid_prefix("\xE6\x95"));            // 数 without its last byte
  EXPECT_TRUE(is_valid_prefix("a\xF0\x9F\x98"));
  EXPECT_FALSE(is_valid_prefix("\xE6\x95" "a"));       // cut off by another character
  EXPECT_FALSE(is_valid_prefix("\x80"));                // a stray continuation byte
  EXPECT_FALSE(is_valid_prefix("\xE0\x80"));           // can only become an overlong
  EXPECT_FALSE(is_valid_prefix("\xF4\x90"));           // can only exceed U+10FFFF
  EXPECT_FALSE(is_valid_prefix("\xC0"));
}

TEST(Utf8, StreamHoldsBackIncompleteCharacters) {
  Stream s;
  EXPECT_EQ(s.push("\xF0"), "");
  EXPECT_EQ(s.push("\x9F\x98"), "");
  EXPECT_EQ(s.pending_size(), 3u);
  EXPECT_EQ(s.push("\x80" "ab"), "😀ab");
  EXPECT_EQ(s.flush(), "");
}

TEST(Utf8, StreamReplacesHopelessBytesAtOnce) {
  Stream s;
  EXPECT_EQ(s.push("a\x80"), "a" + R);  // a stray continuation never becomes valid
  EXPECT_EQ(s.push("\xE6\x95"), "");
  EXPECT_EQ(s.push("x"), R + "x");      // the character was cut off by 'x'
  EXPECT_EQ(s.push("\xC3"), "");
  EXPECT_EQ(s.flush(), R);              // unfinished at the end
  EXPECT_EQ(s.flush(), "");
  EXPECT_EQ(s.push("\xFF"), R);
}

TEST(Utf8, StreamMatchesSanitizeForEverySplit) {
  const std::string text = "a\xF0\x9F\x98\x80" "b\x80\xE6\x95\xB0\xE6\x95" "c\xC3";
  const std::string want = sanitize(text);
  for (size_t cut1 = 0; cut1 <= text.size(); ++cut1) {
    for (size_t cut2 = cut1; cut2 <= text.size(); ++cut2) {
      Stream s;
      std::string got = s.push(text.substr(0, cut1));
      got += s.push(text.substr(cut1, cut2 - cut1));
      got += s.push(text.substr(cut2));
      got += s.flush();
      EXPECT_EQ(got, want) << cut1 << " " << cut2;
    }
  }
}

}  // namespace
}  // namespace mx::utf8
