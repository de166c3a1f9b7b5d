// A fresh workspace in a temp dir, for in-process tests of workspace/
// (restore, fsck, diff, deep trees): the one place its set-up is written.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "store/objects.h"
#include "support/process.h"
#include "workspace/workspace.h"

namespace converge::testing {

class WorkspaceTest : public ::testing::Test {
 protected:
  // Makes the workspace at root_. A subclass that adds to it calls this
  // first and returns when HasFatalFailure().
  void SetUp() override;
  Workspace& ws() { return *ws_; }
  // Writes `text` to `rel` below the workspace root, making directories.
  void Write(const std::string& rel, const std::string& text);
  // Snaps the working tree (a failure is reported; its ID is then empty).
  ObjectId Snap(const std::string& message = "");
  // Waits until nothing written so far is racy for the stat cache (the
  // filesystem's clock has moved past every mtime under root_), probing in
  // .converge/tmp so that no directory of the tree changes.
  void Settle();

  TempDir tmp_;
  fs::path root_ = tmp_ / "ws";
  std::optional<Workspace> ws_;
};

}  // namespace converge::testing
