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

// Captures the tree of `ws`, stores the snap (its parent the newest local
// snap) and records it as the head, then writes the stat cache (after: the
// cache only names objects under recorded snaps; failing to write it is a
// warning in the result). Needs: the workspace lock (workspace/lock.h).
// Errors: kInvalid (message not UTF-8), capture's (kIo, kPermission...), the
// database's.
Result<SnapResult> TakeSnap(Workspace& ws, const std::string& message, bool progress);

// The snap a command-line argument names: a full snap ID or a unique prefix of
// at least 4 hex characters, or the same of a fetched publication (its snap).
// Errors: kInvalid (malformed), kNotFound (neither a snap nor a fetched
// publication; the message points at 'snaps --all' and 'publications'),
// kConflict (ambiguous among snaps, or among fetched publications), kCorrupt
// (the publication's record names no valid snap), the database's.
Result<ObjectId> ResolveSnapArg(Workspace& ws, const std::string& arg);

// A snap's summary: how many files and bytes its tree holds.
struct TreeSummary {
  uint64_t files = 0, dirs = 0, symlinks = 0, bytes = 0;
};
Result<TreeSummary> Summarize(const ObjectStore& store, const ObjectId& root);

}  // namespace converge
