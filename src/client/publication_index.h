// The workspace's record of publications it fetched, so `publications`,
// `status` and `restore` work offline afterwards. Each is checked against its
// content-derived ID before it is recorded.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/wire.h"
#include "store/db.h"

namespace converge {

struct LocalPublicationFilter {
  std::string url, repo;           // empty: any
  std::string scope, gate;         // empty: any
  std::vector<std::string> lanes;  // empty: any
  int limit = -1;
};

class PublicationIndex {
 public:
  explicit PublicationIndex(Db& db) : db_(&db) {}

  // Records a publication fetched from `url`; recording one twice does nothing.
  Status Add(const std::string& url, const wire::Publication& p);
  // Newest first.
  Result<std::vector<wire::Publication>> List(const LocalPublicationFilter& filter);
  // A full publication ID or a unique prefix of 4+ hex characters.
  Result<wire::Publication> Resolve(const std::string& prefix);

  // The lanes the user belonged to at the last fetch from `url`/`repo`.
  Result<std::vector<std::string>> KnownLanes(const std::string& url, const std::string& repo);
  Status SetKnownLanes(const std::string& url, const std::string& repo,
                       const std::vector<std::string>& lanes);

  // The snap this workspace last published to `url`/`repo` (its whole tree is
  // the repo's since): what the next publish diffs against.
  Result<std::optional<ObjectId>> PublishedSnap(const std::string& url, const std::string& repo);
  Status SetPublishedSnap(const std::string& url, const std::string& repo, const ObjectId& snap);

 private:
  Db* db_;
};

// Fails with kCorrupt unless the publication's ID is the hash of its content.
Status VerifyPublicationId(const wire::Publication& p);

}  // namespace converge
