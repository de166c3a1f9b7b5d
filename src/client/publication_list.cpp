#include "client/publication_list.h"

#include <algorithm>

#include "base/text.h"
#include "client/credentials.h"
#include "workspace/publication_index.h"
#include "client/publish.h"
#include "net/pager.h"

namespace converge {

Result<std::vector<wire::Publication>> ListServerPublications(ApiClient& api,
                                                              const std::string& repo,
                                                              const PublicationListOptions& o) {
  std::vector<std::string> lanes;
  if (!o.lane.empty()) {
    lanes = {o.lane};
  } else if (!o.all_lanes) {
    ASSIGN_OR_RETURN(MyLanes mine, FindMyLanes(api, repo));
    lanes = mine.lanes;
  }
  if (lanes.empty()) lanes.push_back("");
  std::vector<wire::Publication> out;
  // The newest page of each lane, all on one budget (the server names the lanes).
  Pager pager(api.http(), "the publications of repo " + Quote(repo));
  for (const std::string& lane : lanes) {
    PublicationFilter f;
    f.scope = o.scope;
    f.gate = o.gate;
    f.lane = lane;
    f.limit = o.limit;
    RETURN_IF_ERROR(pager.Restart());
    ASSIGN_OR_RETURN(wire::PublicationPage page, api.ListPublications(repo, f));
    RETURN_IF_ERROR(pager.AdvanceLast(page.publications.size()));
    out.insert(out.end(), page.publications.begin(), page.publications.end());
  }
  std::sort(out.begin(), out.end(), [](const wire::Publication& a, const wire::Publication& b) {
    return a.created_at > b.created_at;
  });
  if (static_cast<int>(out.size()) > o.limit) out.resize(static_cast<size_t>(o.limit));
  return out;
}

Result<std::vector<wire::Publication>> ListFetchedPublications(Workspace& ws,
                                                               const std::string& repo,
                                                               const PublicationListOptions& o) {
  PublicationIndex index(ws.db());
  LocalPublicationFilter f;
  f.repo = repo;
  f.scope = o.scope;
  f.gate = o.gate;
  f.limit = o.limit;
  if (ws.config().remote && ws.config().remote->repo == repo)
    f.url = NormalizeUrl(ws.config().remote->url);
  if (!o.lane.empty()) {
    f.lanes = {o.lane};
  } else if (!o.all_lanes && !f.url.empty()) {
    ASSIGN_OR_RETURN(f.lanes, index.KnownLanes(f.url, repo));
  }
  return index.List(f);
}

}  // namespace converge
