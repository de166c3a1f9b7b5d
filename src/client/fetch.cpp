#include "client/fetch.h"

#include <algorithm>
#include <unordered_set>

#include "base/text.h"
#include "client/download.h"
#include "workspace/publication_index.h"
#include "client/publish.h"
#include "net/pager.h"
#include "workspace/snap_index.h"
#include "store/tree.h"

namespace converge {

namespace {

constexpr int kPageSize = 1000;

// Every publication matching the filter, all pages, on `pager`'s budget.
Result<std::vector<wire::Publication>> ListAll(ApiClient& api, const std::string& repo,
                                               PublicationFilter filter, Pager& pager) {
  std::vector<wire::Publication> out;
  filter.limit = kPageSize;
  RETURN_IF_ERROR(pager.Restart());
  for (;;) {
    filter.before = pager.cursor();
    ASSIGN_OR_RETURN(wire::PublicationPage page, api.ListPublications(repo, filter));
    out.insert(out.end(), page.publications.begin(), page.publications.end());
    ASSIGN_OR_RETURN(bool more, pager.Advance(page.publications.size(), page.next));
    if (!more) return out;
  }
}

// The publications to fetch and the lanes they were listed for.
Result<std::vector<wire::Publication>> Select(ApiClient& api, const std::string& repo,
                                              const FetchOptions& opts,
                                              std::vector<std::string>* lanes) {
  if (!opts.publication.empty()) {
    ASSIGN_OR_RETURN(wire::Publication p, api.GetPublication(repo, opts.publication));
    return std::vector<wire::Publication>{p};
  }
  if (!opts.lane.empty()) {
    *lanes = {opts.lane};
  } else if (!opts.all_lanes) {
    ASSIGN_OR_RETURN(MyLanes mine, FindMyLanes(api, repo));
    *lanes = mine.lanes;  // none: the user reads every lane
  }
  PublicationFilter filter;
  filter.scope = opts.scope;
  // One budget for every lane's listing: a server cannot multiply it by
  // naming the user in endless lanes.
  Pager pager(api.http(), "the publications of repo " + Quote(repo));
  if (lanes->empty()) return ListAll(api, repo, filter, pager);
  std::vector<wire::Publication> out;
  for (const std::string& lane : *lanes) {
    filter.lane = lane;
    ASSIGN_OR_RETURN(std::vector<wire::Publication> some, ListAll(api, repo, filter, pager));
    out.insert(out.end(), some.begin(), some.end());
  }
  std::sort(out.begin(), out.end(), [](const wire::Publication& a, const wire::Publication& b) {
    return a.created_at > b.created_at;
  });
  return out;
}

}  // namespace

Result<FetchOutcome> FetchPublications(Workspace& ws, ApiClient& api, const std::string& repo,
                                       const FetchOptions& opts) {
  // Held from before the first look at the store until the publications are
  // recorded: a `converge gc` must not remove an object this fetch skips
  // because the store has it (workspace/lock.h, GcLock).
  ASSIGN_OR_RETURN(GcLock gc_lock, GcLock::Shared(ws, opts.lock));
  FetchOutcome out;
  ASSIGN_OR_RETURN(out.publications, Select(api, repo, opts, &out.lanes));
  std::vector<ObjectId> snaps;
  std::unordered_set<ObjectId> seen;
  for (const wire::Publication& p : out.publications) {
    RETURN_IF_ERROR(wire::VerifyPublicationId(p));  // before it is recorded
    if (p.repo != repo)
      return Corrupt("the server answered with a publication of repo '" + p.repo + "'");
    auto id = ObjectId::FromHex(p.snap);
    if (!id) return Corrupt("publication " + p.id + " names a malformed snap ID");
    if (seen.insert(*id).second) snaps.push_back(*id);
  }
  DownloadObserver* observer = opts.observe ? opts.observe(out.publications) : nullptr;
  ASSIGN_OR_RETURN(DownloadStats got,
                   DownloadSnaps(ws.store(), api, repo, snaps, opts.progress, opts.heal, observer));
  out.objects_fetched = got.objects;
  out.bytes_fetched = got.bytes;
  out.bytes_received = got.received;

  // Record last, in one transaction, once every object is stored.
  ASSIGN_OR_RETURN(WorkspaceLock lock, WorkspaceLock::Acquire(ws, "converge fetch", opts.lock));
  TreeReader reader(ws.store());
  SnapIndex snap_index(ws.db());
  PublicationIndex pubs(ws.db());
  ASSIGN_OR_RETURN(Db::Tx tx, ws.db().BeginWrite());
  for (const ObjectId& s : snaps) {
    ASSIGN_OR_RETURN(Snap snap, reader.ReadSnap(s));
    RETURN_IF_ERROR(snap_index.Add(s, snap, "fetched"));
  }
  for (const wire::Publication& p : out.publications) RETURN_IF_ERROR(pubs.Add(api.url(), p));
  if (opts.publication.empty() && !opts.all_lanes && opts.lane.empty())
    RETURN_IF_ERROR(pubs.SetKnownLanes(api.url(), repo, out.lanes));
  RETURN_IF_ERROR(tx.Commit());
  return out;
}

}  // namespace converge
