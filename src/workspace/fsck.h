// The workspace fsck behind `converge fsck [--fix]`.
//
// Every object is re-hashed; every snap the workspace records (its snaps, the
// head, the snaps of fetched publications) must be whole: every object under
// it present, intact, of the right kind, with matching file sizes. The stat
// cache may only name objects that are there, or the next snap would trust
// it; a damaged stat cache file is only a warning (the next snap ignores and
// rewrites it). Temp files in the store and the leftovers of an interrupted
// restore (in the working tree, or beside it for `restore --to ../out`) are
// warnings.
//
// The fix does what loses nothing: removes temp files and restore leftovers
// at least an hour old (younger ones may belong to a command still running),
// moves damaged objects to .converge/damaged/, and drops stat cache entries
// that name missing or damaged objects (so the next snap reads those files
// again and stores their content anew) and cached manifests that are not
// whole in the store (so the next snap stores those directories again).
#pragma once

#include "store/fsck.h"
#include "workspace/workspace.h"

namespace converge {

// Checks `ws` and returns what it found; changes nothing, needs no lock. The
// records are read in one read transaction, a consistent view even while
// another command writes. Damage is in the report (report.ok() is false),
// not in the status: an error status (kIo, kCorrupt, or a database error)
// means the check itself could not run.
Result<FsckReport> CheckWorkspace(Workspace& ws);

// Checks `ws` as CheckWorkspace does and repairs what loses nothing (above);
// what it did is in report.fixed. The caller must hold the workspace lock
// (workspace/lock.h): it removes and moves files other commands use. Errors
// as CheckWorkspace, plus kIo when a damaged object cannot be moved aside or
// a database error or kIo when the stale stat cache entries cannot be dropped.
Result<FsckReport> FixWorkspace(Workspace& ws);

}  // namespace converge
