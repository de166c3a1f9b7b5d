// The workspace's record of snaps: those made here ("local") and those
// fetched with publications ("fetched"), in the order they arrived, and the
// head: the snap the working tree was last made from or captured as.
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

class SnapIndex {
 public:
  explicit SnapIndex(Db& db) : db_(&db) {}

  // Records a snap; recording one that is already there does nothing.
  Status Add(const ObjectId& id, const Snap& snap, const std::string& origin);
  // Newest first; fetched snaps only when `include_fetched`. limit < 0: all.
  Result<std::vector<SnapRecord>> List(bool include_fetched, int limit = -1);
  Result<std::optional<SnapRecord>> Newest();
  Result<SnapRecord> Get(const ObjectId& id);
  // A full ID or a unique prefix of at least 4 hex characters.
  Result<ObjectId> Resolve(const std::string& prefix);

  Result<std::optional<ObjectId>> Head();
  Status SetHead(const ObjectId& id);

 private:
  Db* db_;
};

// Resolves `prefix` against `matches` (the IDs that start with it, at most a
// few): one match is the answer; none is kNotFound; several is kInvalid naming
// them. `what` is "snap" or "publication".
Result<std::string> PickPrefixMatch(const std::string& prefix,
                                    const std::vector<std::string>& matches,
                                    const std::string& what);
// Checks the form of a prefix: 4 to 64 lowercase hex characters.
Status ValidatePrefix(const std::string& prefix, const std::string& what);

// The matches for `prefix` in column `column` of `table` (at most 10).
Result<std::vector<std::string>> FindPrefixMatches(Db& db, const std::string& table,
                                                   const std::string& column,
                                                   const std::string& prefix);

}  // namespace converge
