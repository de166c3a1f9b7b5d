// The server's data directory:
//
//   DATA/                      mode 0700
//     lock                     held (flock) while a server runs on DATA:
//                              exclusively by a SQLite server, shared by
//                              each node of a PostgreSQL one (serve --db)
//     converge.db              SQLite: identity, registries, publications,
//                              audit (absent, or unused, under serve --db)
//     packs/, objects/ab/...   the CAS (store/cas.h): packs, loose objects
//     tmp/                     objects and packs being received
//     initial-admin-token      written once, on first start (0600)
//     authority-id             the authority's ID, as its database holds it
//                              (server/authority_id.h)
//     server.json              optional settings (docs/server.md)
//     metadata-moved           written by `serve --import-sqlite` just
//                              before converge.db's rows are committed in
//                              PostgreSQL (removed if the commit fails):
//                              converge.db is then the copy from before the
//                              move, and nothing may use it as the metadata
#pragma once

#include "base/fs.h"
#include "store/cas.h"

namespace converge {

// kConflict when `dir`'s metadata moved to PostgreSQL (its metadata-moved
// file) and the caller is about to use its converge.db (`postgres` false):
// serving, collecting garbage or checking it there would act on what the
// authority held before the move (a gc would remove what was published
// since). Ok otherwise. The way back to SQLite, losing what the nodes
// recorded since, is removing that file by hand.
Status RefuseMovedMetadata(const fs::path& dir, bool postgres);
fs::path MetadataMovedFile(const fs::path& dir);

class DataDir {
 public:
  // How a server holds the data dir: alone (SQLite, or a repair), or shared
  // with the other nodes of one authority on PostgreSQL.
  enum class Use { kAlone, kShared };
  // Creates the layout when missing and takes the lock: kConflict when a
  // server holds it in a way that excludes `use` (saying whether nodes on
  // PostgreSQL hold it shared or a server alone). Temp files left by a crash
  // are removed: all of them when alone, only those older than
  // kSharedTempAge when shared (another node may be writing the rest).
  static Result<DataDir> Open(const fs::path& dir, Use use = Use::kAlone);
  static constexpr int64_t kSharedTempAge = 3600;  // since its last write

  const fs::path& path() const { return path_; }
  fs::path db_path() const { return path_ / "converge.db"; }
  fs::path token_file() const { return path_ / "initial-admin-token"; }
  fs::path config_file() const { return path_ / "server.json"; }
  ObjectStore& store() { return store_; }
  const ObjectStore& store() const { return store_; }
  bool shared() const { return shared_; }

 private:
  DataDir(fs::path path, Fd lock, ObjectStore store, bool shared)
      : path_(std::move(path)), lock_(std::move(lock)), store_(std::move(store)), shared_(shared) {}

  fs::path path_;
  Fd lock_;
  ObjectStore store_;
  bool shared_;
};

}  // namespace converge
