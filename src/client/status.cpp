#include "client/status.h"

#include "base/text.h"
#include "client/credentials.h"
#include "workspace/publication_index.h"
#include "client/publish.h"
#include "net/pager.h"
#include "workspace/capture.h"

namespace converge {

namespace {

Status LocalState(Workspace& ws, StatusReport& r) {
  SnapIndex index(ws.db());
  ASSIGN_OR_RETURN(std::optional<ObjectId> head, index.Head());
  if (head) {
    ASSIGN_OR_RETURN(SnapRecord rec, index.Get(*head));
    r.snap = rec;
  } else {
    ASSIGN_OR_RETURN(r.snap, index.Newest());
  }
  CaptureOptions opts;
  opts.store = false;
  ASSIGN_OR_RETURN(CapturedTree work, CaptureTree(ws, opts));
  RefreshStatCache(ws, work, "converge status");
  TreeReader reader(ws.store(), &work.manifests);
  ObjectId base = r.snap ? r.snap->snap.root : ObjectId::Of(EncodeManifest(Manifest{}));
  if (!r.snap) work.manifests.emplace(base, EncodeManifest(Manifest{}));
  ASSIGN_OR_RETURN(r.changes, DiffTrees(reader, base, work.root));
  r.dirty = !r.changes.empty();
  return Status::Ok();
}

void Group(const std::vector<wire::Publication>& pubs, int per_lane, StatusReport& r) {
  for (const wire::Publication& p : pubs) {
    auto& list = r.by_lane[p.lane];
    if (static_cast<int>(list.size()) < per_lane) list.push_back(p);
  }
}

// From the server: the user's lanes' newest publications in the remote's scope.
Status RemoteState(ApiClient& api, const Remote& remote, int per_lane, StatusReport& r) {
  ASSIGN_OR_RETURN(MyLanes mine, FindMyLanes(api, remote.repo));
  r.user = mine.handle;
  r.lane = remote.lane;
  if (r.lane.empty()) {
    Result<std::string> lane = DefaultLane(mine, remote.repo);
    if (lane.ok()) r.lane = *lane;
  }
  PublicationFilter filter;
  filter.scope = remote.scope;
  filter.limit = per_lane;
  std::vector<std::string> lanes = mine.lanes;
  if (lanes.empty()) lanes.push_back("");  // in no lane: show every lane
  // The newest page of each lane, all on one budget (the server names the lanes).
  Pager pager(api.http(), "the publications of repo " + Quote(remote.repo));
  for (const std::string& lane : lanes) {
    filter.lane = lane;
    if (lane.empty()) filter.limit = per_lane * 4;
    RETURN_IF_ERROR(pager.Restart());
    ASSIGN_OR_RETURN(wire::PublicationPage page, api.ListPublications(remote.repo, filter));
    RETURN_IF_ERROR(pager.AdvanceLast(page.publications.size()));
    Group(page.publications, per_lane, r);
  }
  r.from_server = true;
  return Status::Ok();
}

Status OfflineState(Workspace& ws, const Remote& remote, int per_lane, StatusReport& r) {
  ASSIGN_OR_RETURN(Credentials creds, Credentials::Load());
  std::string url = NormalizeUrl(remote.url);  // as fetch recorded it
  if (const StoredLogin* login = creds.Find(url)) r.user = login->user;
  r.lane = remote.lane;
  PublicationIndex index(ws.db());
  LocalPublicationFilter f;
  f.url = url;
  f.repo = remote.repo;
  f.scope = remote.scope;
  ASSIGN_OR_RETURN(f.lanes, index.KnownLanes(url, remote.repo));
  ASSIGN_OR_RETURN(std::vector<wire::Publication> pubs, index.List(f));
  Group(pubs, per_lane, r);
  return Status::Ok();
}

}  // namespace

Result<StatusReport> GatherStatus(Workspace& ws, const ServerFlags& flags, int per_lane) {
  StatusReport r;
  r.workspace_id = ws.config().workspace_id;
  r.remote = ws.config().remote;
  RETURN_IF_ERROR(LocalState(ws, r));
  if (!r.remote) return r;
  ServerFlags f = flags;
  if (f.url.empty()) f.url = r.remote->url;
  Result<ApiClient> api = ConnectAuthenticated(f, &ws, /*connect_timeout_s=*/3);
  Status online = api.ok() ? RemoteState(*api, *r.remote, per_lane, r) : api.status();
  if (online.ok()) {
    r.reachable = true;
    return r;
  }
  r.reachable = online.code() != Code::kUnavailable;  // reachable, but it refused us
  r.server_error = online.message();
  r.by_lane.clear();
  RETURN_IF_ERROR(OfflineState(ws, *r.remote, per_lane, r));
  return r;
}

}  // namespace converge
