// The workspace lock: an exclusive flock(2) on .converge/lock, held by every
// command while it changes the workspace (the working tree, the head, the
// snaps, the stat cache, fetched publications, the store's damaged objects),
// so two such commands never interleave: snap, restore in place, fetch's and
// publish's record updates, fsck --fix, remote set. Commands that only read
// (status, snaps, show, diff, publications, restore --to, fsck) take nothing,
// but for status and diff refreshing the stat cache, which they do only when
// the lock is free at once (workspace/capture.h, RefreshStatCache).
//
// A second writer waits for the first, saying so once on stderr, unless it
// was told not to wait (--no-wait): then it fails at once, naming the other
// process. Unlike git's index.lock, an flock is released by the kernel when
// its holder dies, so a lock is never stale and waiting never hangs on a
// process that is gone.
#pragma once

#include <functional>
#include <string>

#include "base/fs.h"
#include "workspace/workspace.h"

namespace converge {

struct LockOptions {
  bool wait = true;
  // Told once, before waiting, who holds the lock.
  std::function<void(const std::string&)> on_wait;
};

class WorkspaceLock {
 public:
  // Takes the lock for `command` ("converge snap", for the holder's record).
  // kConflict when another process holds it and `opts.wait` is false.
  static Result<WorkspaceLock> Acquire(const Workspace& ws, const std::string& command,
                                       const LockOptions& opts);

  WorkspaceLock(WorkspaceLock&&) = default;
  WorkspaceLock& operator=(WorkspaceLock&&) = default;
  // Releases it (closing the descriptor releases the flock).
  ~WorkspaceLock() = default;

 private:
  explicit WorkspaceLock(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

// The gc lock: an flock on the .converge directory itself. `converge fetch`
// skips the objects the store has and records its publications later: an
// object no snap names yet (left by a fetch killed after storing it) could
// be counted on by a fetch and removed by a `converge gc` in between. So
// fetch holds this lock shared from its first look at the store until it has
// recorded, and gc holds it exclusively (taken before the workspace lock,
// always in that order) for its whole run. Waiting as WorkspaceLock does.
class GcLock {
 public:
  static Result<GcLock> Shared(const Workspace& ws, const LockOptions& opts);
  static Result<GcLock> Exclusive(const Workspace& ws, const LockOptions& opts);

  GcLock(GcLock&&) = default;
  GcLock& operator=(GcLock&&) = default;
  ~GcLock() = default;

 private:
  static Result<GcLock> Take(const Workspace& ws, bool exclusive, const LockOptions& opts);
  explicit GcLock(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace converge
