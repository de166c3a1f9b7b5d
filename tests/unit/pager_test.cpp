// Pager (issue 11, item 9): a paged listing ends, or is refused, whatever
// cursors the server sends. Byte counts come from real answers of a
// FakeServer through a real HttpClient.
#include <gtest/gtest.h>

#include "net/pager.h"
#include "support/fake_server.h"

namespace converge {
namespace {

class PagerTest : public ::testing::Test {
 protected:
  HttpClient Client() {
    Result<HttpClient> c = HttpClient::Connect(server_.url(), HttpOptions{});
    EXPECT_TRUE(c.ok()) << c.status().message();
    return std::move(*c);
  }
  testing::FakeServer server_;
};

TEST_F(PagerTest, FollowsCursorsToTheEnd) {
  HttpClient http = Client();
  Pager pager(http, "the list");
  EXPECT_EQ(pager.cursor(), "");
  EXPECT_EQ(*pager.Advance(3, "c1"), true);
  EXPECT_EQ(pager.cursor(), "c1");
  EXPECT_EQ(*pager.Advance(3, "c2"), true);
  EXPECT_EQ(pager.cursor(), "c2");
  EXPECT_EQ(*pager.Advance(1, std::nullopt), false);
  // An empty page ends a listing, even one naming a next cursor.
  ASSERT_TRUE(pager.Restart().ok());
  EXPECT_EQ(pager.cursor(), "");
  EXPECT_EQ(*pager.Advance(0, "c9"), false);
}

TEST_F(PagerTest, RefusesAnyCursorSeenBeforeInTheListing) {
  HttpClient http = Client();
  Pager pager(http, "the list");
  ASSERT_EQ(*pager.Advance(1, "2"), true);
  ASSERT_EQ(*pager.Advance(1, "1"), true);
  Result<bool> again = pager.Advance(1, "2");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kCorrupt);
  EXPECT_EQ(
      again.status().message().rfind("the list does not advance: the server sent cursor '2'", 0),
      0u)
      << again.status().message();
  // "" is where every listing starts: it would start over.
  Pager restart(http, "the list");
  EXPECT_FALSE(restart.Advance(1, "").ok());
  // A listing started at a cursor refuses that cursor as a next one.
  Pager at(http, "the list");
  ASSERT_TRUE(at.Restart("1001").ok());
  EXPECT_FALSE(at.Advance(1, "1001").ok());
  // Another listing on the same pager may use the same cursors again.
  Pager lanes(http, "the list");
  ASSERT_EQ(*lanes.Advance(1, "x"), true);
  ASSERT_TRUE(lanes.Restart().ok());
  EXPECT_EQ(*lanes.Advance(1, "x"), true);
}

TEST_F(PagerTest, RefusesCursorsPastItsSizeAndBeyondItsBudgets) {
  HttpClient http = Client();
  Pager cursor(http, "the list");
  Result<bool> huge = cursor.Advance(1, std::string(Pager::kMaxCursorBytes + 1, 'c'));
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("a cursor of 1025 bytes"), std::string::npos);

  Pager::Limits limits;
  limits.pages = 3;
  Pager pages(http, "the list", limits);
  ASSERT_EQ(*pages.Advance(1, "a"), true);
  ASSERT_EQ(*pages.Advance(1, "b"), true);
  Result<bool> third = pages.Advance(1, "c");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), Code::kTooLarge);
  EXPECT_NE(third.status().message().find("the list runs past 3 pages"), std::string::npos);
  // The last page of a listing within the budget is fine.
  Pager last(http, "the list", limits);
  ASSERT_EQ(*last.Advance(1, "a"), true);
  ASSERT_EQ(*last.Advance(1, "b"), true);
  EXPECT_EQ(*last.Advance(1, std::nullopt), false);
  // The budget spans listings: a fourth one may not start.
  EXPECT_FALSE(last.Restart().ok());

  limits = Pager::Limits{};
  limits.items = 10;
  Pager items(http, "the list", limits);
  ASSERT_EQ(*items.Advance(6, "a"), true);
  Result<bool> more = items.Advance(5, std::nullopt);
  ASSERT_FALSE(more.ok());
  EXPECT_NE(more.status().message().find("holds more than 10 items"), std::string::npos);
}

TEST_F(PagerTest, CountsTheBytesOfTheAnswersItPages) {
  std::string page = "{\"pad\":\"" + std::string(3000, 'x') + "\"}";
  server_.Override("/page", [page](const httplib::Request&, httplib::Response& res) {
    res.set_content(page, "application/json");
  });
  HttpClient http = Client();
  ASSERT_TRUE(http.Get("/page").ok());  // before the pager: not its bytes
  Pager::Limits limits;
  limits.bytes = 8000;
  Pager pager(http, "the list", limits);
  ASSERT_TRUE(http.Get("/page").ok());
  ASSERT_EQ(*pager.Advance(1, "a"), true);
  ASSERT_TRUE(http.Get("/page").ok());
  ASSERT_EQ(*pager.Advance(1, "b"), true);
  ASSERT_TRUE(http.Get("/page").ok());
  Result<bool> third = pager.Advance(1, "c");
  ASSERT_FALSE(third.ok());
  EXPECT_NE(third.status().message().find("the list is larger than"), std::string::npos);
  EXPECT_EQ(http.answer_bytes(), 4 * page.size());
}

}  // namespace
}  // namespace converge
