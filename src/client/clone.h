// clone: what `init`, `remote set`, `fetch` and `restore` do one by one, as
// git clone does, in one process: a new workspace in a new or empty
// directory, its remote set to a repo on a server, the publications the
// user may read there fetched (as `fetch` picks them), and the newest of
// them (or the one asked for) restored into it. A clone that fails takes
// away what it made: the directory when it made it, else what it put in it;
// nothing outside the directory is touched. A repo with no publication the
// user may read makes an empty workspace whose remote is set (as git clones
// an empty repository).
#pragma once

#include <optional>
#include <string>

#include "client/fetch.h"
#include "client/session.h"
#include "workspace/restore.h"

namespace converge {

struct CloneOptions {
  ServerFlags server;  // url: the server's (required)
  std::string repo;
  fs::path dir;             // empty: the repo's name, in the current directory
  std::string scope, lane;  // as `remote set` takes them, and fetch uses them
  std::string publication;  // ID or 4+ prefix: only this one, restored
  bool progress = false;
  LockOptions lock;
};

struct CloneOutcome {
  fs::path root;
  FetchOutcome fetched;
  std::optional<wire::Publication> restored;  // none: nothing to restore
  RestoreStats stats;
};

// kConflict when `dir` exists and is not an empty directory; the transport's,
// fetch's and restore's errors otherwise, after taking away what it made.
Result<CloneOutcome> Clone(const CloneOptions& opts);

}  // namespace converge
