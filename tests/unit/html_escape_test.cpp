// HtmlEscape (base/text.h), the web view's one escaping function: markup is
// text, quotes cannot end an attribute, and controls are visible escapes;
// and PercentEncode, for every segment of a link or request path.
#include <gtest/gtest.h>

#include "base/text.h"

namespace converge {
namespace {

TEST(HtmlEscapeTest, MarkupAndQuotesBecomeCharacterReferences) {
  EXPECT_EQ(HtmlEscape("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  EXPECT_EQ(HtmlEscape("a \"b\" & c"), "a &quot;b&quot; &amp; c");
  EXPECT_EQ(HtmlEscape("&lt;"), "&amp;lt;");
  EXPECT_EQ(HtmlEscape("plain テキスト ✓"), "plain テキスト ✓");
}

TEST(HtmlEscapeTest, ControlsBidiAndBadBytesAreVisible) {
  EXPECT_EQ(HtmlEscape("a\x1b[31mb"), "a\\x1b[31mb");
  EXPECT_EQ(HtmlEscape("x\xe2\x80\xaey"), "x\\u{202e}y");
  EXPECT_EQ(HtmlEscape(std::string("\xff<", 2)), "\\xff&lt;");
  EXPECT_EQ(HtmlEscape("line\nnext\t"), "line\\x0anext\\x09");
}

TEST(HtmlEscapeTest, MultilineKeepsNewlinesAndTabsOnly) {
  EXPECT_EQ(HtmlEscape("a\n\tb<\r\n", true), "a\n\tb&lt;\\x0d\n");
  EXPECT_EQ(HtmlEscape("\x1b\n\x7f", true), "\\x1b\n\\x7f");
}

TEST(PercentEncodeTest, OnlyUnreservedBytesPass) {
  EXPECT_EQ(PercentEncode("a-Z_0.~"), "a-Z_0.~");
  EXPECT_EQ(PercentEncode("<img src=x>"), "%3Cimg%20src%3Dx%3E");
  EXPECT_EQ(PercentEncode("a/b?c&d#e%"), "a%2Fb%3Fc%26d%23e%25");
  EXPECT_EQ(PercentEncode(std::string("\0\xff", 2)), "%00%FF");
}

}  // namespace
}  // namespace converge
