// Taking a snap: capture the tree, store the snap object on top of it, record
// it in the workspace database and make it the head.
#pragma once

#include <string>

#include "store/objects.h"
#include "workspace/capture.h"
#include "workspace/workspace.h"

namespace converge {

struct SnapResult {
  ObjectId id;
  Snap snap;
  CaptureStats stats;
};

Result<SnapResult> TakeSnap(Workspace& ws, const std::string& message, bool progress);

// The snap a command-line argument names: a full snap ID or a unique prefix of
// at least 4 hex characters, or the same of a fetched publication (its snap).
Result<ObjectId> ResolveSnapArg(Workspace& ws, const std::string& arg);

// A snap's summary: how many files and bytes its tree holds.
struct TreeSummary {
  uint64_t files = 0, dirs = 0, symlinks = 0, bytes = 0;
};
Result<TreeSummary> Summarize(const ObjectStore& store, const ObjectId& root);

}  // namespace converge
