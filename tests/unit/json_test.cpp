#include <gtest/gtest.h>

#include "base/json.h"
#include "base/text.h"

namespace converge {
namespace {

TEST(Json, DepthLimit) {
  EXPECT_EQ(JsonDepth("{}"), 1);
  EXPECT_EQ(JsonDepth(R"({"a":[1,{"b":"[[["}]})"), 3);
  EXPECT_EQ(JsonDepth("[[]"), -1);
  EXPECT_TRUE(ParseJson("[[[1]]]", 3).ok());
  EXPECT_EQ(ParseJson("[[[1]]]", 2).status().code(), Code::kInvalid);
  EXPECT_FALSE(ParseJson(std::string(1 << 20, '['), 16).ok());
  EXPECT_FALSE(ParseJson("{bad").ok());
}

TEST(Text, Utf8) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac"));
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_EQ(Quote("a\xff\n"), "'a\\xff\\x0a'");
}

}  // namespace
}  // namespace converge
