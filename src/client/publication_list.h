// `converge publications`: a repo's publications across the lanes asked for,
// merged newest first, from the server or from what the workspace fetched.
#pragma once

#include <string>
#include <vector>

#include "net/api_client.h"
#include "workspace/workspace.h"

namespace converge {

struct PublicationListOptions {
  std::string scope, gate;  // empty: any
  std::string lane;         // one lane; empty: see all_lanes
  bool all_lanes = false;   // every lane; else the caller's own lanes
  int limit = 50;
};

// From the server: the newest `limit` of each lane (`lane`, else the
// caller's lanes; every lane in one listing with all_lanes or when the
// caller is in none), all on one Pager budget, merged newest first and cut
// to `limit`. Errors: the API's (kNotFound for a repo the caller may not
// read), or the pager's.
Result<std::vector<wire::Publication>> ListServerPublications(ApiClient& api,
                                                              const std::string& repo,
                                                              const PublicationListOptions& o);

// From the workspace's record of fetched publications: those of `repo`,
// newest first, at most `limit`; when `repo` is the remote's, only those
// fetched from the remote, and (without `lane` or all_lanes) only the lanes
// the last fetch listed. Errors: the database's.
Result<std::vector<wire::Publication>> ListFetchedPublications(Workspace& ws,
                                                               const std::string& repo,
                                                               const PublicationListOptions& o);

}  // namespace converge
