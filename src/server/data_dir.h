// The server's data directory:
//
//   DATA/                      mode 0700
//     lock                     held (flock) while a server runs on DATA
//     converge.db              SQLite: identity, registries, publications, audit
//     packs/, objects/ab/...   the CAS (store/cas.h): packs, loose objects
//     tmp/                     objects and packs being received
//     initial-admin-token      written once, on first start (0600)
//     server.json              optional settings (docs/server.md)
#pragma once

#include "base/fs.h"
#include "store/cas.h"

namespace converge {

class DataDir {
 public:
  // Creates the layout when missing and takes the lock: kConflict when
  // another server holds it. Temp files left by a crash are removed.
  static Result<DataDir> Open(const fs::path& dir);

  const fs::path& path() const { return path_; }
  fs::path db_path() const { return path_ / "converge.db"; }
  fs::path token_file() const { return path_ / "initial-admin-token"; }
  fs::path config_file() const { return path_ / "server.json"; }
  ObjectStore& store() { return store_; }

 private:
  DataDir(fs::path path, Fd lock, ObjectStore store)
      : path_(std::move(path)), lock_(std::move(lock)), store_(std::move(store)) {}

  fs::path path_;
  Fd lock_;
  ObjectStore store_;
};

}  // namespace converge
