// The workspace's `snaps` table (store/schema.cpp): the snaps made here
// ("local") and those fetched with publications ("fetched"), in the order
// they arrived, and the head (the snap the working tree was last made from
// or captured as, kept in the state table: workspace/workspace_state.h).
// The only file with SQL against `snaps`. Takes a Db whose transaction the
// caller owns.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/db.h"
#include "store/objects.h"

namespace converge {

struct SnapRecord {
  ObjectId id;
  Snap snap;
  std::string origin;  // "local" or "fetched"
};

// A `snaps` row as stored, its IDs unchecked: fsck reports a malformed one
// where the checked readers fail on it.
struct SnapRow {
  std::string id_hex;
  std::string root_hex;
};

class SnapIndex {
 public:
  explicit SnapIndex(Db& db) : db_(&db) {}

  // Records a snap; recording one that is already there does nothing.
  // Errors: the database's.
  Status Add(const ObjectId& id, const Snap& snap, const std::string& origin);
  // Newest first; fetched snaps only when `include_fetched`. limit < 0: all.
  // Errors: kCorrupt (a row with a malformed ID), the database's.
  Result<std::vector<SnapRecord>> List(bool include_fetched, int limit = -1);
  // The newest local snap, nullopt when there is none. Errors: as List.
  Result<std::optional<SnapRecord>> Newest();
  // Errors: kNotFound "no snap ID in this workspace", kCorrupt, the database's.
  Result<SnapRecord> Get(const ObjectId& id);
  // A full ID or a unique prefix of 4+ lowercase hex characters
  // (store/id_prefix.h). Errors: kInvalid (malformed prefix), kNotFound
  // ("no snap matches 'P'"), kConflict (ambiguous: the candidates are named),
  // the database's.
  Result<ObjectId> Resolve(const std::string& prefix);
  // Every row unchecked, oldest first (for fsck). Errors: the database's.
  Result<std::vector<SnapRow>> ListUnchecked();

  // The head; nullopt when there is none or it is not a well-formed ID (fsck
  // reads it raw to report that). Errors: the database's.
  Result<std::optional<ObjectId>> Head();
  // Errors: the database's.
  Status SetHead(const ObjectId& id);

 private:
  Db* db_;
};

}  // namespace converge
