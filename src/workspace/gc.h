// `converge gc` in a workspace (docs/objects.md, "Garbage collection"):
// store/gc.h's collection with the workspace's roots. Kept, whatever its
// age:
//
//   - every snap of the snaps table (local and fetched) and its recorded
//     root, and everything under them;
//   - the head (the snap the working tree was last captured as or restored
//     to) and everything under it;
//   - the snap of every fetched publication and everything under it;
//   - everything the stat cache names (what the next snap would use, as
//     StatCache::Load finds it): a file whose stat fields match reuses its
//     cached content ID without reading the file, and a directory whose
//     entries match reuses its cached manifest with everything under it,
//     neither checking the store. Removing one would make the next snap name
//     an object that is gone. (The cache names only what a recorded snap
//     holds, so this keeps nothing more in practice.)
//
// A snap's parent is named by ID only and is not kept for its own sake (it
// is in the snaps table when this workspace has it). Anything else the
// store holds is unreferenced: left by a snap or fetch killed after storing
// and before recording. It is removed once older than the grace period.
//
// The caller holds GcLock::Exclusive and then the WorkspaceLock
// (workspace/lock.h): no snap, fetch, restore or fsck --fix of this
// workspace runs meanwhile.
#pragma once

#include <cstdint>

#include "store/gc.h"
#include "workspace/workspace.h"

namespace converge {

struct WorkspaceGcReport {
  uint64_t snaps = 0;         // rows of the snaps table
  uint64_t publications = 0;  // fetched publications
  bool head = false;
  uint64_t cached = 0;  // objects the stat cache names
  GcStats stats;
};

// Errors: kCorrupt, removing nothing, when a record is malformed or a
// root's tree cannot be read whole (LiveWalk), naming it and saying to run
// `converge fsck`; those of CollectGarbage; the database's.
// `all`: GcOptions::rewrite_all.
Result<WorkspaceGcReport> CollectWorkspaceGarbage(Workspace& ws, int64_t grace_seconds,
                                                  bool dry_run, bool all = false);

}  // namespace converge
