// fetch: download the publications visible to the user and every object
// their snaps need that the workspace lacks. Each object is checked against
// its ID (and manifests, snaps and chunk lists are validated) before it is
// kept; objects become visible leaves first, and the publications are
// recorded last, so an interrupted fetch leaves nothing half there.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "net/api_client.h"
#include "workspace/lock.h"
#include "workspace/workspace.h"

namespace converge {

class DownloadObserver;  // client/download.h

struct FetchOptions {
  std::string scope;
  std::string lane;        // empty: the user's lanes (all lanes if they have none)
  bool all_lanes = false;
  std::string publication;  // one publication (ID or 4+ prefix) instead of a listing
  bool progress = false;
  // Also fetch what the store lacks, or holds damaged, under publications it
  // has already (DownloadSnaps' `heal`).
  bool heal = false;
  // The workspace lock is held while the fetched publications are recorded
  // (the download itself only adds objects, which is safe beside anything
  // but a `converge gc`: the gc lock is held shared throughout, and waits
  // for a gc the same way).
  LockOptions lock;
  // Called with the publications chosen, before their objects are
  // downloaded: the observer it returns, if any, sees each object as it
  // arrives (client/download.h; `converge clone` writes the tree from it).
  std::function<DownloadObserver*(const std::vector<wire::Publication>&)> observe;
};

struct FetchOutcome {
  std::vector<wire::Publication> publications;
  std::vector<std::string> lanes;  // the lanes listed; empty: all
  uint64_t objects_fetched = 0;
  uint64_t bytes_fetched = 0;   // the objects' own bytes
  uint64_t bytes_received = 0;  // what came over the wire for them (compressed where it pays)
};

Result<FetchOutcome> FetchPublications(Workspace& ws, ApiClient& api, const std::string& repo,
                                       const FetchOptions& opts);

}  // namespace converge
