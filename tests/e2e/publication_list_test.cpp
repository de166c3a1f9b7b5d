// e2e: the lane fan-out of `converge publications` (client/publication_list.h)
// called in-process, against publications a real client made on a real
// server in three lanes.
#include <gtest/gtest.h>

#include "base/random.h"
#include "client/publication_list.h"
#include "client/session.h"
#include "support/people.h"
#include "support/server.h"

namespace converge::testing {
namespace {

class PublicationListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    admin_ = MakePerson("admin", server_.admin_token(), url_);
    admin_.Login();
    ws_ = admin_.home->path() / "ws";  // the new home's: the first one is gone
    ASSERT_EQ(admin_.Run({"repo", "create", "web"}).exit_code, 0);
    for (const char* lane : {"a", "b"}) {
      ASSERT_EQ(admin_.Run({"lane", "create", lane, "--repo", "web"}).exit_code, 0);
      ASSERT_EQ(admin_.Run({"lane", "add", lane, "admin", "--repo", "web"}).exit_code, 0);
    }
    ASSERT_EQ(admin_.Run({"init", ws_.string()}).exit_code, 0);
    ASSERT_EQ(admin_.Run({"remote", "set", "--url", url_, "--repo", "web"}, ws_).exit_code, 0);
    // One publication in each lane, oldest first: a, b, default.
    for (const char* lane : {"a", "b", "default"}) {
      WriteFile(ws_ / "f", std::string("in ") + lane + "\n");
      ASSERT_EQ(admin_.Run({"snap", "-m", lane}, ws_).exit_code, 0);
      RunResult r = admin_.Run({"publish", "--lane", lane}, ws_);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }

  static std::vector<std::string> Lanes(const Result<std::vector<wire::Publication>>& list) {
    EXPECT_TRUE(list.ok()) << list.status().message();
    std::vector<std::string> lanes;
    if (list.ok())
      for (const wire::Publication& p : *list) lanes.push_back(p.lane);
    return lanes;
  }
  using Lanes_ = std::vector<std::string>;

  ServerProcess server_;
  std::string url_ = "http://127.0.0.1:" + std::to_string(server_.port());
  Person admin_;
  fs::path ws_;
};

TEST_F(PublicationListTest, TheServersLanesAreMergedNewestFirst) {
  Result<ApiClient> api = ConnectWithToken(url_, server_.admin_token(), ServerFlags{});
  ASSERT_TRUE(api.ok()) << api.status().message();
  PublicationListOptions o;
  // The caller's three lanes, one listing each, merged.
  EXPECT_EQ(Lanes(ListServerPublications(*api, "web", o)), (Lanes_{"default", "b", "a"}));
  o.limit = 2;
  EXPECT_EQ(Lanes(ListServerPublications(*api, "web", o)), (Lanes_{"default", "b"}));
  o.limit = 50;
  o.lane = "a";
  EXPECT_EQ(Lanes(ListServerPublications(*api, "web", o)), (Lanes_{"a"}));
  o.lane = "";
  o.all_lanes = true;
  EXPECT_EQ(Lanes(ListServerPublications(*api, "web", o)), (Lanes_{"default", "b", "a"}));
  Result<std::vector<wire::Publication>> none = ListServerPublications(*api, "nope", o);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kNotFound);
}

TEST_F(PublicationListTest, TheFetchedRecordIsMergedNewestFirst) {
  {
    Result<Workspace> ws = Workspace::Find(ws_);
    ASSERT_TRUE(ws.ok()) << ws.status().message();
    EXPECT_TRUE(Lanes(ListFetchedPublications(*ws, "web", {})).empty());
  }
  RunResult fetched = admin_.Run({"fetch"}, ws_);
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  Result<Workspace> ws = Workspace::Find(ws_);
  ASSERT_TRUE(ws.ok()) << ws.status().message();
  PublicationListOptions o;
  EXPECT_EQ(Lanes(ListFetchedPublications(*ws, "web", o)), (Lanes_{"default", "b", "a"}));
  o.limit = 1;
  EXPECT_EQ(Lanes(ListFetchedPublications(*ws, "web", o)), (Lanes_{"default"}));
  o.limit = 50;
  o.lane = "b";
  EXPECT_EQ(Lanes(ListFetchedPublications(*ws, "web", o)), (Lanes_{"b"}));
  EXPECT_TRUE(Lanes(ListFetchedPublications(*ws, "other", {})).empty());
}

}  // namespace
}  // namespace converge::testing
