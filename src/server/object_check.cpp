#include "server/object_check.h"

#include <algorithm>
#include <set>
#include <string>
#include <unordered_set>

#include "base/json.h"
#include "base/text.h"
#include "store/object_records.h"
#include "store/tree_depth.h"

namespace converge {

namespace {

constexpr size_t kMaxNamed = 20;  // IDs or names listed in one message

// Names why a manifest failed to decode when the cause is an entry name, so
// that case can be kInvalid (400) rather than kCorrupt. A reserved name
// (".converge") is well-formed but refused as content: it stays kCorrupt (422).
std::vector<std::string> BadEntryNames(std::string_view bytes) {
  std::vector<std::string> bad;
  Result<nlohmann::json> j = ParseJson(bytes, 4);
  if (!j.ok() || !j->is_object() || !j->contains("entries") || !(*j)["entries"].is_array())
    return bad;
  std::set<std::string> seen;
  for (const nlohmann::json& e : (*j)["entries"]) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string()) continue;
    const std::string& name = e["name"].get_ref<const std::string&>();
    bool invalid = !ValidateName(name).ok() && !IsReservedName(name);
    bool duplicate = !seen.insert(name).second;
    if ((invalid || duplicate) && bad.size() < kMaxNamed)
      bad.push_back(Quote(name) + (duplicate ? " (twice)" : ""));
  }
  return bad;
}

std::string JoinList(const std::vector<std::string>& items, size_t total) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  if (total > items.size()) out += " and " + std::to_string(total - items.size()) + " more";
  return out;
}

std::string What(ObjectKind kind, const ObjectId& id) {
  return std::string(kind == ObjectKind::kChunkList ? "chunk list" : KindName(kind)) + " " +
         id.hex();
}

// Words a failed reference check for the server (`what` names the object).
Status Verdict(const std::string& what, const RefReport& r) {
  if (r.missing_total > 0) {
    std::vector<std::string> named;
    for (const ObjectRef& m : r.missing) named.push_back(Describe(m.kind, m.id));
    return Corrupt(what + " references objects this repo does not have: " +
                   JoinList(named, r.missing_total) + " (upload them first)");
  }
  if (r.mismatch) {
    const NamedRef& n = *r.mismatch;
    std::string says = std::to_string(n.size.value_or(0)), holds = std::to_string(r.mismatch_holds);
    if (n.ref.kind == ObjectKind::kBlob && n.name.empty())
      return Corrupt(what + ": chunk " + n.ref.id.hex() + " is listed as " + says +
                     " bytes but holds " + holds);
    return Corrupt(what + ": file " + Quote(n.name) + " says " + says + " bytes but " +
                   KindName(n.ref.kind) + " " + n.ref.id.hex() + " holds " + holds);
  }
  if (r.unmeasured)
    return Corrupt(what + " references manifest " + r.unmeasured->hex() + ", whose depth the " +
                   "server could not measure (its file is missing or damaged): the server's " +
                   "operator should run 'converge serve --fsck'");
  if (r.depth > kMaxTreeDepth)
    return Corrupt(what + " nests directories " + std::to_string(r.depth) +
                   " levels deep, past the limit of " + std::to_string(kMaxTreeDepth) +
                   " levels: converge refuses such a tree (docs/objects.md)");
  return Status::Ok();
}

// CheckObject once the bytes are decoded (or failed to).
Result<uint64_t> Judge(ObjectKind kind, const ObjectId& id, std::string_view bytes,
                       const Result<ObjectFacts>& facts, const HeldLookup& held, uint64_t* depth) {
  std::string what = What(kind, id);
  if (!facts.ok()) {
    std::vector<std::string> bad =
        kind == ObjectKind::kManifest ? BadEntryNames(bytes) : std::vector<std::string>();
    if (!bad.empty())
      return Invalid(what + " has invalid entry names: " + JoinList(bad, bad.size()) +
                     " (a name is never empty, '.' or '..', and holds no '/' or NUL)");
    return Corrupt(what + ": " + facts.status().message());
  }
  ASSIGN_OR_RETURN(RefReport report, CheckRefs(kind, *facts, held));
  if (depth) *depth = report.depth;
  RETURN_IF_ERROR(Verdict(what, report));
  return facts->content_size;
}

// Which of `ask` the repo holds, into `*out`. Out of line: GCC 12 at -O3,
// inlining HeldAmong's Result into CheckObjectInRepo, warned falsely that its
// destructor frees a non-heap pointer (-Wfree-nonheap-object).
[[gnu::noinline]] Status HeldInRepo(Db& db, int64_t repo_id, const std::vector<ObjectRef>& ask,
                                    HeldObjects* out) {
  if (ask.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(*out, ObjectRecords(db).HeldAmong(repo_id, ask));
  return Status::Ok();
}

}  // namespace

Result<uint64_t> CheckObject(ObjectKind kind, const ObjectId& id, std::string_view bytes,
                             const HeldLookup& held, uint64_t* depth) {
  return Judge(kind, id, bytes, RefsAndSizes(kind, bytes), held, depth);
}

Result<uint64_t> CheckObjectInRepo(Db& db, int64_t repo_id, ObjectKind kind, const ObjectId& id,
                                   std::string_view bytes, const EarlierObjects* earlier,
                                   uint64_t* depth) {
  Result<ObjectFacts> facts = RefsAndSizes(kind, bytes);
  std::vector<ObjectRef> ask;
  if (facts.ok())
    for (const NamedRef& n : facts->refs)
      if (!earlier || !earlier->count({n.ref.kind, n.ref.id})) ask.push_back(n.ref);
  HeldObjects repo;
  RETURN_IF_ERROR(HeldInRepo(db, repo_id, ask, &repo));
  HeldLookup held = [&](ObjectKind k, const ObjectId& ref) -> Result<std::optional<HeldObject>> {
    for (const HeldObjects* from : {earlier, static_cast<const HeldObjects*>(&repo)}) {
      if (!from) continue;
      auto it = from->find({k, ref});
      if (it != from->end()) return std::optional<HeldObject>(it->second);
    }
    return std::optional<HeldObject>();
  };
  return Judge(kind, id, bytes, facts, held, depth);
}

namespace {

// The file entries of `facts` (a manifest's) that are identical to the base
// manifest's entry of the same name, into `known` with the content size both
// promise (see QueuedCheck::base). A base that does not decode adds nothing.
void KnownFromBase(const ObjectFacts& facts, std::string_view base, HeldObjects* known) {
  Result<ObjectFacts> b = RefsAndSizes(ObjectKind::kManifest, base);
  if (!b.ok()) return;
  // Both lists follow their manifests' entries, sorted by name.
  auto at = b->refs.begin();
  for (const NamedRef& n : facts.refs) {
    if (n.dir() || !n.size) continue;
    while (at != b->refs.end() && at->name < n.name) ++at;
    if (at == b->refs.end()) break;
    if (at->name == n.name && at->ref == n.ref && at->size == n.size)
      (*known)[{n.ref.kind, n.ref.id}] = HeldObject{0, *n.size, 0};
  }
}

}  // namespace

Result<QueuedVerdict> CheckQueuedInRepo(Db& db, int64_t repo_id,
                                        const std::vector<QueuedCheck>& queue,
                                        EarlierObjects* earlier) {
  std::vector<Result<ObjectFacts>> facts;
  HeldObjects known;
  for (const QueuedCheck& q : queue) {
    facts.push_back(RefsAndSizes(q.kind, q.bytes));
    if (facts.back().ok() && q.kind == ObjectKind::kManifest && !q.base.empty())
      KnownFromBase(*facts.back(), q.base, &known);
  }
  std::vector<ObjectRef> ask;
  std::unordered_set<std::pair<ObjectKind, ObjectId>, ObjectKeyHash> asked;
  for (const Result<ObjectFacts>& f : facts) {
    if (!f.ok()) continue;
    for (const NamedRef& n : f->refs) {
      std::pair<ObjectKind, ObjectId> key{n.ref.kind, n.ref.id};
      if (!earlier->count(key) && !known.count(key) && asked.insert(key).second)
        ask.push_back(n.ref);
    }
  }
  // In the key order of repo_objects (kind code, then ID): a manifest
  // pack's children are random IDs all over both tables, and probed in the
  // order the manifests name them each probe lands on another page; in key
  // order the probes walk each table front to back (as ForEachHeld's do).
  std::sort(ask.begin(), ask.end(), [](const ObjectRef& a, const ObjectRef& b) {
    int64_t ka = KindCode(a.kind), kb = KindCode(b.kind);
    return ka != kb ? ka < kb : a.id < b.id;
  });
  HeldObjects repo;
  RETURN_IF_ERROR(HeldInRepo(db, repo_id, ask, &repo));
  // `*earlier` grows only as objects pass, in order: a queued object never
  // sees one queued after it. What a base vouches for holds for every queued
  // object: the repo held it before the pack began.
  HeldLookup held = [&](ObjectKind k, const ObjectId& ref) -> Result<std::optional<HeldObject>> {
    for (const HeldObjects* from : {static_cast<const HeldObjects*>(earlier),
                                    static_cast<const HeldObjects*>(&repo),
                                    static_cast<const HeldObjects*>(&known)}) {
      auto it = from->find({k, ref});
      if (it != from->end()) return std::optional<HeldObject>(it->second);
    }
    return std::optional<HeldObject>();
  };
  QueuedVerdict out;
  out.looked_up = ask.size();
  for (size_t i = 0; i < queue.size(); i++) {
    const QueuedCheck& q = queue[i];
    uint64_t depth = 0;
    Result<uint64_t> content = Judge(q.kind, q.id, q.bytes, facts[i], held, &depth);
    if (!content.ok()) {
      out.failure = content.status();
      return out;
    }
    HeldObject sizes{q.bytes.size(), *content, depth};
    (*earlier)[{q.kind, q.id}] = sizes;
    out.sizes.push_back(sizes);
    out.passed++;
  }
  return out;
}

Result<std::optional<HeldObject>> RepoHolds(Db& db, int64_t repo_id, ObjectKind kind,
                                            const ObjectId& id) {
  return ObjectRecords(db).Held(repo_id, kind, id);
}

Status ForEachHeld(Db& db, int64_t repo_id, const wire::ObjectIdSet& ids, const HeldVisitor& fn) {
  ASSIGN_OR_RETURN(Db::Tx read, db.BeginRead());  // one snapshot, one lock round trip
  // In ID order: the lookups that follow (the database's, then the pack
  // index's for a fetch's reads) then walk each table and index front to
  // back, touching each page once, instead of a random page per object (at
  // a million objects the pages touched were most of the server's memory).
  std::vector<ObjectRef> distinct;
  distinct.reserve(ids.size());
  for (ObjectKind kind :
       {ObjectKind::kBlob, ObjectKind::kManifest, ObjectKind::kSnap, ObjectKind::kChunkList})
    for (const ObjectId& id : ids.of(kind)) distinct.push_back({kind, id});
  auto key = [](const ObjectRef& r) { return std::make_pair(r.id, r.kind); };
  std::sort(distinct.begin(), distinct.end(),
            [&](const ObjectRef& a, const ObjectRef& b) { return key(a) < key(b); });
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  ASSIGN_OR_RETURN(HeldObjects held, ObjectRecords(db).HeldAmong(repo_id, distinct));
  for (const ObjectRef& ref : distinct) {
    auto it = held.find({ref.kind, ref.id});
    RETURN_IF_ERROR(
        fn(ref.kind, ref.id,
           it == held.end() ? std::optional<HeldObject>() : std::optional<HeldObject>(it->second)));
  }
  return Status::Ok();
}

Status CheckIdCount(const wire::ObjectIdSet& ids, uint64_t limit) {
  if (ids.size() > limit)
    return TooLarge("the request names " + std::to_string(ids.size()) + " objects; the limit is " +
                    std::to_string(limit) + " per request: split it");
  return Status::Ok();
}

Result<ObjectId> ParseObjectId(std::string_view text) {
  std::optional<ObjectId> id = ObjectId::FromHex(text);
  if (!id)
    return Invalid(Quote(text.substr(0, 80)) + " is not an object ID (64 lowercase hex digits)");
  return *id;
}

}  // namespace converge
