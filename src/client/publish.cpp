#include "client/publish.h"

#include <unistd.h>

#include <unordered_map>
#include <unordered_set>

#include "base/progress.h"
#include "net/pack.h"
#include "store/closure.h"
#include "store/tree.h"

namespace converge {

namespace {

constexpr size_t kIdsPerRequest = 10000;
constexpr uint64_t kPackBytes = 64u << 20;  // a pack per ~64 MiB keeps a retry cheap
constexpr size_t kPackObjects = 20000;

std::string HostName() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

// What negotiation learned: the objects to upload and, for each, what it
// references among them.
struct UploadPlan {
  std::unordered_map<ObjectId, std::vector<ObjectRef>> refs;
  std::vector<ObjectRef> order;  // leaves first
  uint64_t bytes = 0;
};

// Top-down walk: ask about one level of candidates at a time and descend only
// into what is missing.
Result<UploadPlan> Negotiate(const ObjectStore& store, ApiClient& api, const std::string& repo,
                             const ObjectId& snap) {
  UploadPlan plan;
  std::unordered_set<ObjectId> asked;
  std::vector<ObjectRef> level = {{ObjectKind::kSnap, snap}};
  asked.insert(snap);
  while (!level.empty()) {
    ASSIGN_OR_RETURN(wire::ObjectIdSet missing, AskMissing(api, repo, level));
    std::vector<ObjectRef> next;
    for (ObjectKind kind : {ObjectKind::kSnap, ObjectKind::kManifest, ObjectKind::kChunkList,
                            ObjectKind::kBlob}) {
      for (const ObjectId& id : missing.of(kind)) {
        if (!asked.count(id)) return Invalid("the server reported an object it was not asked about");
        std::vector<ObjectRef> refs;
        if (kind != ObjectKind::kBlob) {
          ASSIGN_OR_RETURN(std::string bytes, store.Read(id));
          ASSIGN_OR_RETURN(refs, ReferencesOf(kind, bytes));
        }
        ASSIGN_OR_RETURN(uint64_t size, store.SizeOf(id));
        plan.bytes += size;
        for (const ObjectRef& r : refs)
          if (asked.insert(r.id).second) next.push_back(r);
        plan.refs.emplace(id, std::move(refs));
      }
    }
    level = std::move(next);
  }
  if (!plan.refs.count(snap)) return plan;
  plan.order = LeavesFirst({{ObjectKind::kSnap, snap}}, [&](const ObjectRef& r) {
    std::vector<ObjectRef> kids;
    for (const ObjectRef& k : plan.refs[r.id])
      if (plan.refs.count(k.id)) kids.push_back(k);
    return kids;
  });
  return plan;
}

// Streams objects [begin, end) of the plan as one pack.
Result<wire::PackResult> UploadPack(const ObjectStore& store, ApiClient& api,
                                    const std::string& repo, const std::vector<ObjectRef>& objs,
                                    size_t begin, size_t end, Progress& progress) {
  size_t next = begin;
  bool started = false;
  return api.UploadPack(repo, [&](const HttpClient::Writer& write, bool* done) -> Status {
    auto put = [&](std::string_view bytes) -> Status {
      if (!write(bytes)) return Unavailable("the server closed the connection during upload");
      return Status::Ok();
    };
    if (!started) {
      started = true;
      return put(kPackMagic);
    }
    if (next == end) {
      *done = true;
      return put(kPackEnd);
    }
    const ObjectRef& ref = objs[next++];
    ASSIGN_OR_RETURN(uint64_t size, store.SizeOf(ref.id));
    RETURN_IF_ERROR(put(PackObjectHeader(ref.kind, ref.id, size)));
    RETURN_IF_ERROR(store.Stream(ref.id, put));
    progress.Add(1, size);
    return Status::Ok();
  });
}

}  // namespace

Result<wire::ObjectIdSet> AskMissing(ApiClient& api, const std::string& repo,
                                     const std::vector<ObjectRef>& ids) {
  wire::ObjectIdSet all;
  for (size_t i = 0; i < ids.size(); i += kIdsPerRequest) {
    wire::ObjectIdSet ask;
    for (size_t j = i; j < std::min(ids.size(), i + kIdsPerRequest); j++)
      ask.of(ids[j].kind).push_back(ids[j].id);
    ASSIGN_OR_RETURN(wire::ObjectIdSet got, api.Missing(repo, ask));
    for (ObjectKind k : {ObjectKind::kBlob, ObjectKind::kManifest, ObjectKind::kSnap,
                         ObjectKind::kChunkList})
      all.of(k).insert(all.of(k).end(), got.of(k).begin(), got.of(k).end());
  }
  return all;
}

Result<MyLanes> FindMyLanes(ApiClient& api, const std::string& repo) {
  MyLanes mine;
  ASSIGN_OR_RETURN(wire::Whoami me, api.Whoami());
  mine.handle = me.user.handle;
  ASSIGN_OR_RETURN(std::vector<wire::Lane> lanes, api.ListLanes(repo));
  for (const wire::Lane& l : lanes)
    for (const std::string& m : l.members)
      if (m == me.user.handle) mine.lanes.push_back(l.name);
  return mine;
}

Result<std::string> DefaultLane(const MyLanes& mine, const std::string& repo) {
  if (mine.lanes.size() == 1) return mine.lanes.front();
  for (const std::string& l : mine.lanes)
    if (l == "default") return l;
  if (mine.lanes.empty()) return std::string();
  std::string list;
  for (const std::string& l : mine.lanes) list += (list.empty() ? "" : ", ") + l;
  return Invalid("you are in several lanes of repo '" + repo + "' (" + list +
                 "): choose one with --lane, or set it with 'converge remote set --lane'");
}

Result<PublishOutcome> PublishSnap(Workspace& ws, ApiClient& api, const std::string& repo,
                                   const ObjectId& snap, const PublishOptions& opts) {
  if (!ws.store().Has(snap)) return NotFound("snap " + snap.hex() + " is not in this workspace");
  std::string lane = opts.lane;
  if (lane.empty()) {
    ASSIGN_OR_RETURN(MyLanes mine, FindMyLanes(api, repo));
    ASSIGN_OR_RETURN(lane, DefaultLane(mine, repo));
    // In no lane: ask for the default one and let the server judge (and
    // audit) the attempt.
    if (lane.empty()) lane = "default";
  }
  ASSIGN_OR_RETURN(UploadPlan plan, Negotiate(ws.store(), api, repo, snap));
  PublishOutcome out;
  Progress progress("Uploading", plan.order.size(), plan.bytes, opts.progress);
  for (size_t begin = 0; begin < plan.order.size();) {
    size_t end = begin;
    uint64_t bytes = 0;
    while (end < plan.order.size() && end - begin < kPackObjects && bytes < kPackBytes) {
      ASSIGN_OR_RETURN(uint64_t size, ws.store().SizeOf(plan.order[end].id));
      bytes += size;
      end++;
    }
    ASSIGN_OR_RETURN(wire::PackResult r,
                     UploadPack(ws.store(), api, repo, plan.order, begin, end, progress));
    out.objects_uploaded += r.objects;
    out.bytes_uploaded += bytes;
    begin = end;
  }
  progress.Done();
  wire::PublishRequest req;
  req.snap = snap.hex();
  req.scope = opts.scope;
  req.gate = opts.gate;
  req.lane = lane;
  req.note = opts.note;
  req.workspace_id = ws.config().workspace_id;
  req.client_version = CONVERGE_VERSION;
  req.host = HostName();
  ASSIGN_OR_RETURN(out.publication, api.Publish(repo, req));
  return out;
}

}  // namespace converge
