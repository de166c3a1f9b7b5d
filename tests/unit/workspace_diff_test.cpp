// DiffWorkspace (workspace/diff.h) in-process: the head against the working
// tree, two snaps by prefix, and the errors before the first snap.
#include <gtest/gtest.h>

#include "support/workspace_fixture.h"
#include "workspace/diff.h"
#include "workspace/snapshot.h"

namespace converge {
namespace {

class WorkspaceDiffTest : public testing::WorkspaceTest {
 protected:
  static std::vector<Change> Must(Result<std::vector<Change>> r) {
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::vector<Change>();
  }
};

TEST_F(WorkspaceDiffTest, BeforeTheFirstSnapTheHeadIsMissing) {
  Result<std::vector<Change>> r = DiffWorkspace(ws(), std::nullopt, std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("no snaps yet"), std::string::npos);
}

TEST_F(WorkspaceDiffTest, TheHeadAgainstTheWorkingTreeStoresNothing) {
  Write("a.txt", "alpha\n");
  Write("b.txt", "beta\n");
  Snap("first");
  Write("a.txt", "alpha two\n");
  fs::remove(ws().root() / "b.txt");
  Write("c/d.txt", "delta\n");
  std::vector<Change> want = {{"a.txt", 'M'}, {"b.txt", 'D'}, {"c/d.txt", 'A'}};
  EXPECT_EQ(Must(DiffWorkspace(ws(), std::nullopt, std::nullopt)), want);
  // Capturing for a diff stores no object: delta's blob is not in the store.
  EXPECT_FALSE(ws().store().Has(ObjectId::Of("delta\n")));
}

TEST_F(WorkspaceDiffTest, TwoSnapsByPrefixAndAnUnknownOne) {
  Write("a.txt", "alpha\n");
  std::string first = Snap("first").hex();
  Write("a.txt", "alpha two\n");
  std::string second = Snap("second").hex();
  std::vector<Change> want = {{"a.txt", 'M'}};
  EXPECT_EQ(Must(DiffWorkspace(ws(), first.substr(0, 8), second.substr(0, 8))), want);
  EXPECT_TRUE(Must(DiffWorkspace(ws(), second, std::nullopt)).empty());
  Result<std::vector<Change>> r = DiffWorkspace(ws(), std::string(64, 'f'), std::nullopt);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace converge
