// A workspace: a directory whose .converge/ holds config.json, the object
// store and the SQLite database. Find() walks up from a directory like git,
// and trusts only a .converge that is a real directory of the user's.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/fs.h"
#include "store/cas.h"
#include "store/db.h"
#include "store/defaults.h"
#include "store/db.h"

namespace converge {

// Where `publish` and `fetch` go by default (`converge remote set`).
struct Remote {
  std::string url;
  std::string repo;
  std::string scope = kDefaultScope;
  std::string gate = kDefaultGate;
  std::string lane;  // empty: the user's only lane, or kDefaultLane
};

struct WorkspaceConfig {
  std::string workspace_id;  // random, made by init
  std::optional<Remote> remote;
};

class Workspace {
 public:
  static constexpr const char* kMetaDir = ".converge";
  // A restore stages files and directories under names
  // ".converge-restore.<16 hex>.tmp"; a killed one can leave them behind
  // (`converge fsck --fix` removes them). Snap never captures such a name.
  static constexpr const char* kRestoreTempPrefix = ".converge-restore";
  static bool IsRestoreLeftover(std::string_view name);

  // Makes a new workspace in `dir` (created if missing). kConflict if one is there.
  static Result<Workspace> Init(const fs::path& dir);
  // Opens the workspace containing `start`, looking upward for a directory
  // holding .converge/config.json. A .converge that is a symlink, not a
  // directory, or not owned by the current user (nor a config.json that is not
  // a regular file of the user's) is refused with kPermission, never
  // followed and never skipped: a restored tree could have planted it.
  static Result<Workspace> Find(const fs::path& start);

  const fs::path& root() const { return root_; }
  fs::path meta() const { return root_ / kMetaDir; }
  ObjectStore& store() { return store_; }
  Db& db() { return db_; }
  const WorkspaceConfig& config() const { return config_; }
  Status SaveConfig(const WorkspaceConfig& config);

 private:
  Workspace(fs::path root, ObjectStore store, Db db, WorkspaceConfig config)
      : root_(std::move(root)),
        store_(std::move(store)),
        db_(std::move(db)),
        config_(std::move(config)) {}
  static Result<Workspace> Open(const fs::path& root, const std::string& config_text);

  fs::path root_;
  ObjectStore store_;
  Db db_;
  WorkspaceConfig config_;
};

}  // namespace converge
