#include "support/workspace_fixture.h"

#include <fstream>

#include "base/random.h"
#include "support/tree_helpers.h"
#include "workspace/snapshot.h"

namespace converge::testing {

void WorkspaceTest::SetUp() {
  InitCrypto();
  Result<Workspace> made = Workspace::Init(root_);
  ASSERT_TRUE(made.ok()) << made.status().message();
  ws_.emplace(std::move(*made));
}

void WorkspaceTest::Write(const std::string& rel, const std::string& text) {
  fs::path p = root_ / rel;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

ObjectId WorkspaceTest::Snap(const std::string& message) {
  Result<SnapResult> r = TakeSnap(ws(), message, false);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r->id : ObjectId();
}

void WorkspaceTest::Settle() {
  WaitForFsClockPast(root_, ws().meta() / "tmp");
}

}  // namespace converge::testing
