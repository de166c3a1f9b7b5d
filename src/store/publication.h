// A publication: the immutable record that a snap is complete for a lane's
// part at a gate of a scope (docs/api.md). One struct for both roles: the
// server's `publications` table (store/publication_records.h), the
// workspace's record of the ones it fetched (workspace/publication_index.h)
// and the wire (api/wire.h uses this struct; its JSON lives there).
#pragma once

#include <cstdint>
#include <string>

namespace converge {

class Stmt;  // store/db.h; not included, so the wire layer does not pull in SQLite

struct Publication {
  std::string id;  // BLAKE2b-256 of the canonical JSON of the rest (api/wire.h)
  std::string repo;
  std::string snap;
  std::string scope;
  std::string gate;
  std::string lane;
  std::string publisher;
  int64_t publisher_id = 0;
  std::string created_at;
  std::string workspace_id;
  std::string client_version;
  std::string host;
  std::string note;
};

// The columns both `publications` tables share, in the order
// PublicationFromRow reads them (repo is stored differently by each role:
// a name in the workspace, a repo_id on the server).
inline constexpr const char* kPublicationColumns =
    "id, snap, scope, gate, lane, publisher_id, publisher_handle, created_at, workspace_id, "
    "client_version, host, note";

// The one row mapper. Needs: `q` on a row whose columns `first` onwards are
// kPublicationColumns in order. Returns the record, with `repo` as given.
// Reads only; never fails (a NULL text column reads as "").
Publication PublicationFromRow(const Stmt& q, int first, std::string repo);

}  // namespace converge
