// The server's `authority` table (store/schema.cpp, migration 6): the only
// file with SQL against it. One row: the authority's ID, which the data dir
// keeps too (server/authority_id.h says what is checked with it). Written
// once and never changed (the schema's triggers refuse an UPDATE or DELETE).
//
// Takes a Db& whose transaction the caller owns. Errors are the database's
// (store/db.h).
#pragma once

#include <optional>
#include <string>

#include "store/db.h"

namespace converge {

class AuthorityRecords {
 public:
  explicit AuthorityRecords(Db& db) : db_(db) {}

  // The ID, or nullopt while none was written.
  Result<std::optional<std::string>> Id();
  // Writes `id` unless an ID is there already (then nothing changes); call
  // Id() after to learn which one stands.
  Status SetIfUnset(const std::string& id);

 private:
  Db& db_;
};

}  // namespace converge
