// The workspace's record of publications it fetched (the workspace's
// `publications` table, store/schema.cpp), so `publications`, `status` and
// `restore` work offline afterwards, and the client's per-remote notes kept
// in the state table (workspace/workspace_state.h). The only file with SQL
// against the workspace's `publications`. Takes a Db whose transaction the
// caller owns.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/db.h"
#include "store/hash.h"
#include "store/publication.h"

namespace converge {

struct LocalPublicationFilter {
  std::string url, repo;           // empty: any
  std::string scope, gate;         // empty: any
  std::vector<std::string> lanes;  // empty: any
  int limit = -1;                  // < 0: all
};

// A fetched publication as stored, unchecked (for fsck).
struct FetchedPublicationRow {
  std::string id;
  std::string snap_hex;
};

class PublicationIndex {
 public:
  explicit PublicationIndex(Db& db) : db_(&db) {}

  // Records a publication fetched from `url`; recording one twice does
  // nothing. Needs: `p` checked against its content-derived ID
  // (wire::VerifyPublicationId: client/fetch.cpp does it before recording).
  // Errors: the database's.
  Status Add(const std::string& url, const Publication& p);
  // Newest first (by created_at, then arrival). Errors: the database's.
  Result<std::vector<Publication>> List(const LocalPublicationFilter& filter);
  // A full publication ID or a unique prefix of 4+ lowercase hex characters
  // (store/id_prefix.h). Errors: kInvalid (malformed prefix), kNotFound ("no
  // publication matches 'P'"), kConflict (ambiguous: the candidates are
  // named), the database's.
  Result<Publication> Resolve(const std::string& prefix);
  // Every row unchecked, oldest first (for fsck). Errors: the database's.
  Result<std::vector<FetchedPublicationRow>> ListUnchecked();

  // The lanes the user belonged to at the last fetch from `url`/`repo`
  // (none recorded: empty). Errors: the database's.
  Result<std::vector<std::string>> KnownLanes(const std::string& url, const std::string& repo);
  // Errors: the database's.
  Status SetKnownLanes(const std::string& url, const std::string& repo,
                       const std::vector<std::string>& lanes);

  // The snap this workspace last published to `url`/`repo` (its whole tree is
  // the repo's since): what the next publish diffs against. nullopt when none
  // is recorded or the record is not a well-formed ID. Errors: the database's.
  Result<std::optional<ObjectId>> PublishedSnap(const std::string& url, const std::string& repo);
  // Errors: the database's.
  Status SetPublishedSnap(const std::string& url, const std::string& repo, const ObjectId& snap);

 private:
  Db* db_;
};

}  // namespace converge
