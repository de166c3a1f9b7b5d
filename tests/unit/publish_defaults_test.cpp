// The defaults of `converge publish` (client/publish.h): where a publish goes
// when the flags leave it open, and which snap it takes.
#include <gtest/gtest.h>

#include "base/random.h"
#include "client/publish.h"
#include "store/defaults.h"
#include "support/process.h"
#include "support/tree_helpers.h"
#include "workspace/snapshot.h"

namespace converge {
namespace {

TEST(PublishDefaultsTest, WithoutARemoteTheRepoDefaultsAndNoLane) {
  PublishOptions o;
  FillPublishDefaults(o, std::nullopt);
  EXPECT_EQ(o.scope, kDefaultScope);
  EXPECT_EQ(o.gate, kDefaultGate);
  EXPECT_EQ(o.lane, "");  // PublishSnap asks the server for the caller's only lane
}

TEST(PublishDefaultsTest, TheRemotesDefaultsUnlessAFlagGaveOne) {
  Remote r;
  r.url = "http://127.0.0.1:1";
  r.repo = "web";
  r.scope = "release/1.0";
  r.gate = "qa";
  r.lane = "core";
  PublishOptions o;
  FillPublishDefaults(o, r);
  EXPECT_EQ(o.scope, "release/1.0");
  EXPECT_EQ(o.gate, "qa");
  EXPECT_EQ(o.lane, "core");

  PublishOptions given;
  given.scope = "s";
  given.gate = "g";
  given.lane = "l";
  FillPublishDefaults(given, r);
  EXPECT_EQ(given.scope, "s");
  EXPECT_EQ(given.gate, "g");
  EXPECT_EQ(given.lane, "l");
}

TEST(PublishDefaultsTest, TheNewestSnapUnlessOneIsNamed) {
  InitCrypto();
  testing::TempDir tmp;
  Result<Workspace> ws = Workspace::Init(tmp / "ws");
  ASSERT_TRUE(ws.ok()) << ws.status().message();
  Result<ObjectId> none = SnapToPublish(*ws, "");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_NE(none.status().message().find("run 'converge snap' first"), std::string::npos);

  testing::WriteFile(tmp / "ws" / "a", "one\n");
  Result<SnapResult> first = TakeSnap(*ws, "first", false);
  ASSERT_TRUE(first.ok()) << first.status().message();
  testing::WriteFile(tmp / "ws" / "a", "two\n");
  Result<SnapResult> second = TakeSnap(*ws, "second", false);
  ASSERT_TRUE(second.ok()) << second.status().message();

  Result<ObjectId> newest = SnapToPublish(*ws, "");
  ASSERT_TRUE(newest.ok()) << newest.status().message();
  EXPECT_EQ(*newest, second->id);
  Result<ObjectId> named = SnapToPublish(*ws, first->id.hex().substr(0, 8));
  ASSERT_TRUE(named.ok()) << named.status().message();
  EXPECT_EQ(*named, first->id);
}

}  // namespace
}  // namespace converge
