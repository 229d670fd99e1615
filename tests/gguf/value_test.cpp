#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "gguf/value.h"

namespace mx::gguf {
namespace {

Value int_array(int n) {
  Array a{ValueType::kI32, {}};
  for (int i = 1; i <= n; ++i) a.items.push_back(Value{int32_t{i}});
  return Value{std::move(a)};
}

TEST(GgufValue, TypeNamesAndNumbering) {
  EXPECT_EQ(value_type_name(ValueType::kU8), "u8");
  EXPECT_EQ(value_type_name(ValueType::kString), "string");
  EXPECT_EQ(value_type_name(ValueType::kArray), "array");
  EXPECT_EQ(value_type_name(ValueType::kF64), "f64");
  EXPECT_EQ(value_type_name(static_cast<ValueType>(99)), "unknown");
  // The variant index is the GGUF type number.
  EXPECT_EQ(Value{uint64_t{1}}.type(), ValueType::kU64);
  EXPECT_EQ(Value{true}.type(), ValueType::kBool);
  EXPECT_EQ(Value{std::string("x")}.type(), ValueType::kString);
}

TEST(GgufValue, IntegerConversions) {
  EXPECT_EQ(Value{uint8_t{200}}.as_int(), 200);
  EXPECT_EQ(Value{int8_t{-5}}.as_int(), -5);
  EXPECT_EQ(Value{uint32_t{4000000000u}}.as_int(), 4000000000);
  EXPECT_EQ(Value{int64_t{-7}}.as_int(), -7);
  EXPECT_EQ(Value{uint64_t{1} << 62}.as_int(), int64_t{1} << 62);
  EXPECT_FALSE(Value{std::numeric_limits<uint64_t>::max()}.as_int());  // does not fit
  EXPECT_FALSE(Value{true}.as_int());  // a bool is not a number
  EXPECT_FALSE(Value{1.0f}.as_int());
  EXPECT_FALSE(Value{std::string("1")}.as_int());
}

TEST(GgufValue, FloatBoolStringArrayConversions) {
  EXPECT_EQ(Value{1.5f}.as_float(), 1.5);
  EXPECT_EQ(Value{2.25}.as_float(), 2.25);
  EXPECT_EQ(Value{int16_t{-3}}.as_float(), -3.0);
  EXPECT_FALSE(Value{false}.as_float());
  EXPECT_EQ(Value{false}.as_bool(), false);
  EXPECT_FALSE(Value{uint8_t{1}}.as_bool());
  ASSERT_NE(Value{std::string("hi")}.as_string(), nullptr);
  EXPECT_EQ(*Value{std::string("hi")}.as_string(), "hi");
  EXPECT_EQ(Value{1}.as_string(), nullptr);
  EXPECT_EQ(Value{1}.as_array(), nullptr);
  ASSERT_NE(int_array(3).as_array(), nullptr);
  EXPECT_EQ(int_array(3).as_array()->items.size(), 3u);
}

TEST(GgufValue, DisplayScalars) {
  EXPECT_EQ(Value{uint8_t{65}}.to_display_string(), "65");  // a number, not 'A'
  EXPECT_EQ(Value{int8_t{-1}}.to_display_string(), "-1");
  EXPECT_EQ(Value{uint64_t{18446744073709551615ull}}.to_display_string(), "18446744073709551615");
  EXPECT_EQ(Value{1e-5f}.to_display_string(), "1e-05");
  EXPECT_EQ(Value{10000.0f}.to_display_string(), "10000");
  EXPECT_EQ(Value{true}.to_display_string(), "true");
  EXPECT_EQ(Value{std::string("llama")}.to_display_string(), "\"llama\"");
  EXPECT_EQ(Value{std::string()}.to_display_string(), "\"\"");
  EXPECT_EQ(Value{std::string("a\"b\n\x01")}.to_display_string(), "\"a\\\"b\\n\\x01\"");
}

TEST(GgufValue, DisplayTruncatesLongStringsOnCharacterBoundaries) {
  EXPECT_EQ(Value{std::string(100, 'x')}.to_display_string(),
            "\"" + std::string(60, 'x') + "\"... (100 bytes)");
  std::string cjk;
  for (int i = 0; i < 70; ++i) cjk += "\xE4\xB8\xAD";  // 中
  std::string want = "\"";
  for (int i = 0; i < 60; ++i) want += "\xE4\xB8\xAD";
  EXPECT_EQ(Value{cjk}.to_display_string(), want + "\"... (210 bytes)");
}

TEST(GgufValue, DisplayAbbreviatesArrays) {
  EXPECT_EQ(int_array(512).to_display_string(3), "[1, 2, 3, ... (512 items)]");
  EXPECT_EQ(int_array(3).to_display_string(3), "[1, 2, 3]");
  EXPECT_EQ(int_array(3).to_display_string(0), "[... (3 items)]");
  EXPECT_EQ((Value{Array{ValueType::kString, {}}}.to_display_string()), "[]");
  Array nested{ValueType::kArray, {int_array(2), Value{Array{ValueType::kI32, {}}}}};
  EXPECT_EQ(Value{nested}.to_display_string(), "[[1, 2], []]");
  Array strings{ValueType::kString, {Value{std::string("a")}, Value{std::string("")}}};
  EXPECT_EQ(Value{strings}.to_display_string(), "[\"a\", \"\"]");
}

}  // namespace
}  // namespace mx::gguf
