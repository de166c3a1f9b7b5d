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

// AppendJsonString must write exactly what nlohmann's dump() writes: the
// canonical encodings depend on it.
TEST(Json, AppendJsonStringMatchesNlohmannDump) {
  std::vector<std::string> cases = {"",
                                    "plain",
                                    "q\"uote",
                                    "back\\slash",
                                    "tab\tnl\ncr\r",
                                    "\b\f",
                                    std::string("nul\0x", 5),
                                    "\x01\x1f\x7f",
                                    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                                    "/slash/"};
  for (int c = 0; c < 0x80; c++) cases.push_back(std::string(1, static_cast<char>(c)));
  for (const std::string& s : cases) {
    std::string mine;
    AppendJsonString(mine, s);
    EXPECT_EQ(mine, nlohmann::json(s).dump()) << s;
  }
}

TEST(Text, Utf8) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac"));
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_EQ(Quote("a\xff\n"), "'a\\xff\\x0a'");
}

}  // namespace
}  // namespace converge
