// The server's `publications` table (store/schema.cpp): the only file with
// SQL against it. Takes a Db whose
// transaction the caller owns; authz, validation and audit are the caller's
// (server/publications.h). Rows are immutable (a trigger refuses UPDATE).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/db.h"
#include "store/publication.h"

namespace converge {

// A server row: its seq (the paging cursor) and the record.
struct PublicationRow {
  int64_t seq = 0;
  Publication publication;
};

struct PublicationRowFilter {
  std::optional<std::string> scope, lane, gate;  // unset: any
  std::optional<int64_t> before;                 // only seq < before
  int limit = 100;                               // at most this many rows
};

class PublicationRecords {
 public:
  // `page_rows`: how many rows ForEach reads per statement.
  explicit PublicationRecords(Db& db, int64_t page_rows = kPageRows)
      : db_(&db), page_rows_(page_rows) {}
  static constexpr int64_t kPageRows = 1000;

  // Whether any repo has a publication `id`. Errors: the database's.
  Result<bool> IdTaken(const std::string& id);
  // Inserts `p` (its repo given by `repo_id`; p.repo is not stored). Needs:
  // an id no row has (IdTaken). Errors: the database's, a constraint one when
  // the id is taken.
  Status Insert(int64_t repo_id, const Publication& p);
  // The rows of repo `repo_id` matching `f`, newest (highest seq) first, with
  // repo set to `repo_name`. Errors: the database's.
  Result<std::vector<PublicationRow>> List(int64_t repo_id, const std::string& repo_name,
                                           const PublicationRowFilter& f);
  // The publication of repo `repo_id` whose id is, or uniquely starts with,
  // `prefix` (store/id_prefix.h), with repo set to `repo_name`. Errors:
  // kInvalid (malformed prefix), kNotFound (none in this repo), kConflict
  // (ambiguous in this repo), the database's.
  Result<Publication> Get(int64_t repo_id, const std::string& repo_name, std::string_view prefix);

  // Calls `fn(repo_id, row)` for every row of every repo, oldest first, with
  // repo left empty (fsck names it; a row may name a repo that is gone).
  // Stops at the first error `fn` returns and returns it; else the
  // database's errors. Reads page_rows rows per statement (keyset pages by
  // seq), so memory stays flat on either engine.
  Status ForEach(const std::function<Status(int64_t repo_id, const PublicationRow&)>& fn);

 private:
  Db* db_;
  int64_t page_rows_;
};

}  // namespace converge
