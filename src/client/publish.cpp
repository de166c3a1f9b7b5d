#include "client/publish.h"

#include <unistd.h>

#include <algorithm>
#include <string_view>
#include <unordered_set>

#include "api/pack.h"
#include "base/progress.h"
#include "client/negotiate.h"
#include "client/pack_uploads.h"
#include "store/defaults.h"
#include "store/pack_set.h"
#include "store/tree.h"
#include "workspace/publication_index.h"
#include "workspace/snap_index.h"
#include "workspace/snapshot.h"

namespace converge {

namespace {

constexpr uint64_t kPackBytes = 64u << 20;  // a pack per ~64 MiB keeps a retry cheap
// Each pack is one transaction on the server, whose object rows it inserts
// touching a page of the table per few rows: fewer, larger packs rewrite
// fewer pages (a million-object publish: 32 s in packs of 20,000 objects,
// 23 s in packs of 100,000), up to what the server announces it takes.
constexpr uint64_t kPackObjects = 100000;
constexpr int kBaseCandidates = 20;       // recent fetched publications considered as a base
constexpr int kAncestorsSearched = 1000;  // parents followed looking for one

std::string HostName() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

// The snap to diff against: of the snaps the repo is known to hold whole
// (the last one this workspace published there, fetched publications of it
// whose snap is here), the nearest ancestor of `snap`, else the last published.
std::optional<ObjectId> FindBase(Workspace& ws, const std::string& url, const std::string& repo,
                                 const ObjectId& snap) {
  PublicationIndex pubs(ws.db());
  std::unordered_set<ObjectId> known;
  Result<std::optional<ObjectId>> last = pubs.PublishedSnap(url, repo);
  if (last.ok() && *last && ws.store().Has(**last)) known.insert(**last);
  LocalPublicationFilter recent;
  recent.url = url;
  recent.repo = repo;
  recent.limit = kBaseCandidates;
  Result<std::vector<wire::Publication>> fetched = pubs.List(recent);
  std::optional<ObjectId> newest;
  for (const wire::Publication& p : fetched.ok() ? *fetched : std::vector<wire::Publication>{}) {
    std::optional<ObjectId> id = ObjectId::FromHex(p.snap);
    if (!id || !ws.store().Has(*id)) continue;
    known.insert(*id);
    if (!newest) newest = id;
  }
  if (known.empty()) return std::nullopt;
  std::optional<ObjectId> at = snap;
  for (int i = 0; at && i < kAncestorsSearched; i++) {
    if (known.count(*at)) return at;
    Result<Snap> s = TreeReader(ws.store()).ReadSnap(*at);
    at = s.ok() ? s->parent : std::nullopt;
  }
  return last.ok() && *last && known.count(**last) ? *last : newest;
}

std::string_view Extension(std::string_view name) {
  size_t dot = name.rfind('.');
  return dot == std::string_view::npos || dot == 0 ? std::string_view() : name.substr(dot);
}

// The blobs first, ordered the way git orders objects for its delta search:
// by file extension, then name, then size, largest first; so that copies and
// versions of a file, and files of a kind, are next to each other in the
// stream, where zstd's window finds what they share. The rest keep their
// order (each after what it names; every blob is before them). Sorts
// positions (4 bytes a blob), then moves the blobs and their sizes.
void OrderForUpload(UploadPlan& plan) {
  size_t n = plan.name_of.size();
  auto name = [&](uint32_t i) { return NameAt(plan, plan.name_of[i]); };
  std::vector<uint32_t> pos(n);
  for (uint32_t i = 0; i < n; i++) pos[i] = i;
  std::stable_sort(pos.begin(), pos.end(), [&](uint32_t a, uint32_t b) {
    std::string_view na = name(a), nb = name(b);
    std::string_view ea = Extension(na), eb = Extension(nb);
    if (ea != eb) return ea < eb;
    if (na != nb) return na < nb;
    return plan.size_of[a].size > plan.size_of[b].size;
  });
  // order[i] = old order[pos[i]], cycle by cycle, in place.
  for (uint32_t i = 0; i < n; i++) {
    if (pos[i] == i) continue;
    ObjectRef first = plan.order[i];
    PlannedSize first_size = plan.size_of[i];
    uint32_t j = i;
    while (pos[j] != i) {
      uint32_t k = pos[j];
      plan.order[j] = plan.order[k];
      plan.size_of[j] = plan.size_of[k];
      pos[j] = j;
      j = k;
    }
    plan.order[j] = first;
    plan.size_of[j] = first_size;
    pos[j] = j;
  }
  std::deque<uint32_t>().swap(plan.name_of);
  std::vector<std::string>().swap(plan.name_blocks);
}

// Adds what `pack` sent to `out`.
void CountSent(const PackEncoder& pack, int version, PublishOutcome& out) {
  out.pack_version = version;
  out.pack_bytes += pack.bytes_out();
  for (ObjectKind k :
       {ObjectKind::kBlob, ObjectKind::kManifest, ObjectKind::kSnap, ObjectKind::kChunkList}) {
    PublishOutcome::KindSent& sent = out.by_kind[static_cast<size_t>(k)];
    sent.objects += pack.stats(k).objects;
    sent.bytes += pack.stats(k).bytes;
    sent.encoded += pack.stats(k).encoded;
  }
}

// Streams objects [begin, end) of the plan as one pack, in the newest pack
// version the server takes (version 2: changed objects against their base's,
// the rest as one zstd stream when `stream`, else as they are stored),
// adding what it sent to `out` and calling `sent` once the body is written
// (PackUploads: `out` and `progress` are touched only until then).
Result<wire::PackResult> UploadPack(const ObjectStore& store, ApiClient& api,
                                    const std::string& repo, const UploadPlan& plan, size_t begin,
                                    size_t end, bool stream, Progress& progress,
                                    PublishOutcome& out, const std::function<void()>& sent) {
  int version = api.upload_pack_version();
  const HttpClient::Writer* writer = nullptr;
  PackEncoder pack(store, PackEncoder::Options{version, version >= 2 && stream},
                   [&](std::string_view bytes) -> Status {
                     if (!(*writer)(bytes))
                       return Unavailable("the server closed the connection during upload");
                     return Status::Ok();
                   });
  size_t next = begin;
  bool started = false;
  Result<wire::PackResult> r =
      api.UploadPack(repo, version, [&](const HttpClient::Writer& write, bool* done) -> Status {
        writer = &write;
        if (!started) {
          started = true;
          return pack.Start();
        }
        if (next == end) {
          *done = true;
          Status finished = pack.Finish();
          CountSent(pack, version, out);
          sent();
          return finished;
        }
        uint64_t size = plan.size_of[next].size;
        const ObjectRef& ref = plan.order[next++];
        auto base = plan.bases.find(ref.id);
        RETURN_IF_ERROR(pack.Add(ref.kind, ref.id, size,
                                 base == plan.bases.end() ? std::optional<ObjectId>()
                                                          : std::optional<ObjectId>(base->second)));
        progress.Add(1, size);
        return Status::Ok();
      });
  return r;
}

}  // namespace

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
    if (l == kDefaultLane) return l;
  if (mine.lanes.empty()) return std::string();
  std::string list;
  for (const std::string& l : mine.lanes) list += (list.empty() ? "" : ", ") + l;
  return Invalid("you are in several lanes of repo '" + repo + "' (" + list +
                 "): choose one with --lane, or set it with 'converge remote set --lane'");
}

void FillPublishDefaults(PublishOptions& opts, const std::optional<Remote>& remote) {
  if (opts.scope.empty()) opts.scope = remote ? remote->scope : kDefaultScope;
  if (opts.gate.empty()) opts.gate = remote ? remote->gate : kDefaultGate;
  if (opts.lane.empty() && remote) opts.lane = remote->lane;
}

Result<ObjectId> SnapToPublish(Workspace& ws, const std::string& arg) {
  if (!arg.empty()) return ResolveSnapArg(ws, arg);
  ASSIGN_OR_RETURN(std::optional<SnapRecord> newest, SnapIndex(ws.db()).Newest());
  if (!newest) return NotFound("no snaps to publish yet: run 'converge snap' first");
  return newest->id;
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
    if (lane.empty()) lane = kDefaultLane;
  }
  std::optional<ObjectId> base = FindBase(ws, api.url(), repo, snap);
  uint64_t sent_before = api.http().body_bytes_sent();
  ASSIGN_OR_RETURN(UploadPlan plan, Negotiate(ws.store(), api, repo, snap, base));
  OrderForUpload(plan);
  PublishOutcome out;
  out.negotiation_requests = plan.requests;
  Progress progress("Uploading", plan.order.size(), plan.bytes, opts.progress);
  uint64_t per_pack = std::min(kPackObjects, api.pack_objects());
  PackUploads uploads(api);
  for (size_t begin = 0; begin < plan.order.size();) {
    size_t end = begin;
    uint64_t bytes = 0, compressible = 0;
    bool names_earlier = false;  // holds more than blobs
    while (end < plan.order.size() && end - begin < per_pack && bytes < kPackBytes) {
      names_earlier = names_earlier || plan.order[end].kind != ObjectKind::kBlob;
      const PlannedSize& at = plan.size_of[end++];
      bytes += at.size;
      if (at.compressible) compressible += at.size;
    }
    // A pack of what did not compress at rest (random binaries, media) goes
    // plain: a stream would only spend time finding that again.
    bool stream = compressible >= bytes / 10;
    RETURN_IF_ERROR(uploads.Send(
        names_earlier, [&, begin, end, stream](ApiClient& conn, const std::function<void()>& sent) {
          return UploadPack(ws.store(), conn, repo, plan, begin, end, stream, progress, out, sent);
        }));
    out.bytes_uploaded += bytes;
    begin = end;
    ws.store().packs().ReleasePages();  // what this pack's lookups touched
  }
  ASSIGN_OR_RETURN(std::vector<wire::PackResult> answers, uploads.Finish());
  for (const wire::PackResult& r : answers) out.objects_uploaded += r.objects;
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
  out.bytes_sent = api.http().body_bytes_sent() - sent_before + uploads.second_bytes_sent();
  // Only the next publish's speed depends on this record: not worth failing
  // a publish that the server has already taken (nor, with --no-wait, worth
  // waiting for another command to record it).
  Result<WorkspaceLock> lock = WorkspaceLock::Acquire(ws, "converge publish", opts.lock);
  if (lock.ok()) (void)PublicationIndex(ws.db()).SetPublishedSnap(api.url(), repo, snap);
  return out;
}

}  // namespace converge
