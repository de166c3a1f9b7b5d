#include "server/object_check.h"

#include <algorithm>
#include <set>
#include <string>
#include <unordered_set>

#include "base/json.h"
#include "base/text.h"
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

// Collects the references a repo lacks and the first size disagreement.
class RefCheck {
 public:
  RefCheck(const HeldLookup& held, std::string what) : held_(held), what_(std::move(what)) {}

  // The held sizes of (kind, id), or nullopt (recorded as missing).
  Result<std::optional<HeldObject>> Need(ObjectKind kind, const ObjectId& id) {
    ASSIGN_OR_RETURN(std::optional<HeldObject> h, held_(kind, id));
    if (!h) {
      if (missing_.size() < kMaxNamed) missing_.push_back(Describe(kind, id));
      missing_total_++;
    }
    return h;
  }
  void SizeMismatch(const std::string& message) {
    if (mismatch_.empty()) mismatch_ = message;
  }
  // A held manifest that names another one `level` deep below it.
  void Deeper(const HeldObject& h, const ObjectId& id) {
    if (!h.depth) {
      if (unmeasured_.empty()) unmeasured_ = id.hex();
      return;
    }
    depth_ = std::max(depth_, *h.depth + 1);
  }
  // A snap: its root's depth.
  void Root(const HeldObject& h, const ObjectId& id) {
    Deeper(h, id);
    if (h.depth) depth_ = *h.depth;
  }
  uint64_t depth() const { return depth_; }

  Status Verdict() const {
    if (missing_total_ > 0)
      return Corrupt(what_ + " references objects this repo does not have: " +
                     JoinList(missing_, missing_total_) + " (upload them first)");
    if (!mismatch_.empty()) return Corrupt(what_ + ": " + mismatch_);
    if (!unmeasured_.empty())
      return Corrupt(what_ + " references manifest " + unmeasured_ + ", whose depth the server " +
                     "could not measure (its file is missing or damaged): the server's " +
                     "operator should run 'converge serve --fsck'");
    if (depth_ > kMaxTreeDepth)
      return Corrupt(what_ + " nests directories " + std::to_string(depth_) +
                     " levels deep, past the limit of " + std::to_string(kMaxTreeDepth) +
                     " levels: converge refuses such a tree (docs/objects.md)");
    return Status::Ok();
  }

 private:
  const HeldLookup& held_;
  std::string what_;
  std::vector<std::string> missing_;
  size_t missing_total_ = 0;
  std::string mismatch_;
  std::string unmeasured_;
  uint64_t depth_ = 0;
};

Status CheckManifest(const ObjectId& id, std::string_view bytes, const HeldLookup& held,
                     uint64_t* depth) {
  std::string what = "manifest " + id.hex();
  Result<Manifest> m = DecodeManifest(bytes);
  if (!m.ok()) {
    std::vector<std::string> bad = BadEntryNames(bytes);
    if (!bad.empty())
      return Invalid(what + " has invalid entry names: " + JoinList(bad, bad.size()) +
                     " (a name is never empty, '.' or '..', and holds no '/' or NUL)");
    return Corrupt(what + ": " + m.status().message());
  }
  RefCheck check(held, what);
  for (const Entry& e : m->entries) {
    std::optional<ObjectRef> ref = EntryRef(e);
    if (!ref) continue;  // a symlink
    ObjectKind kind = ref->kind;
    ASSIGN_OR_RETURN(std::optional<HeldObject> h, check.Need(kind, e.id));
    if (h && e.type == EntryType::kDir) check.Deeper(*h, e.id);
    if (h && e.type == EntryType::kFile && h->content_size != e.size)
      check.SizeMismatch("file " + Quote(e.name) + " says " + std::to_string(e.size) +
                         " bytes but " + KindName(kind) + " " + e.id.hex() + " holds " +
                         std::to_string(h->content_size));
  }
  *depth = check.depth();
  return check.Verdict();
}

}  // namespace

Result<uint64_t> CheckObject(ObjectKind kind, const ObjectId& id, std::string_view bytes,
                             const HeldLookup& held, uint64_t* depth) {
  uint64_t ignored = 0;
  if (!depth) depth = &ignored;
  *depth = 0;
  switch (kind) {
    case ObjectKind::kBlob:
      return static_cast<uint64_t>(bytes.size());
    case ObjectKind::kManifest:
      RETURN_IF_ERROR(CheckManifest(id, bytes, held, depth));
      return uint64_t{0};
    case ObjectKind::kSnap: {
      std::string what = "snap " + id.hex();
      Result<Snap> s = DecodeSnap(bytes);
      if (!s.ok()) return Corrupt(what + ": " + s.status().message());
      RefCheck check(held, what);
      ASSIGN_OR_RETURN(std::optional<HeldObject> root, check.Need(ObjectKind::kManifest, s->root));
      if (root) check.Root(*root, s->root);
      *depth = check.depth();
      RETURN_IF_ERROR(check.Verdict());
      return uint64_t{0};
    }
    case ObjectKind::kChunkList: {
      std::string what = "chunk list " + id.hex();
      Result<ChunkList> c = DecodeChunkList(bytes);
      if (!c.ok()) return Corrupt(what + ": " + c.status().message());
      RefCheck check(held, what);
      for (const ChunkList::Chunk& ch : c->chunks) {
        ASSIGN_OR_RETURN(std::optional<HeldObject> h, check.Need(ObjectKind::kBlob, ch.blob));
        if (h && h->size != ch.size)
          check.SizeMismatch("chunk " + ch.blob.hex() + " is listed as " + std::to_string(ch.size) +
                             " bytes but holds " + std::to_string(h->size));
      }
      RETURN_IF_ERROR(check.Verdict());
      return c->size;
    }
  }
  return Internal("unknown object kind");
}

Result<std::optional<HeldObject>> RepoHolds(Db& db, int64_t repo_id, ObjectKind kind,
                                            const ObjectId& id) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT o.size, o.content_size, o.depth FROM repo_objects r JOIN "
                                      "objects o ON o.id = r.object_id AND o.kind = r.kind "
                                      "WHERE r.repo_id = ? AND r.kind = ? AND r.object_id = ?"));
  q.Bind(1, repo_id).Bind(2, KindName(kind)).Bind(3, id.hex());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<HeldObject>();
  HeldObject h{static_cast<uint64_t>(q.Int(0)), static_cast<uint64_t>(q.Int(1))};
  if (q.IsNull(2))
    h.depth.reset();
  else
    h.depth = static_cast<uint64_t>(q.Int(2));
  return std::optional<HeldObject>(h);
}

Status ForEachHeld(Db& db, int64_t repo_id, const wire::ObjectIdSet& ids, const HeldVisitor& fn) {
  ASSIGN_OR_RETURN(Db::Tx read, db.BeginRead());  // one snapshot, one lock round trip
  for (ObjectKind kind :
       {ObjectKind::kBlob, ObjectKind::kManifest, ObjectKind::kSnap, ObjectKind::kChunkList}) {
    std::unordered_set<ObjectId> seen;
    for (const ObjectId& id : ids.of(kind)) {
      if (!seen.insert(id).second) continue;
      ASSIGN_OR_RETURN(std::optional<HeldObject> held, RepoHolds(db, repo_id, kind, id));
      RETURN_IF_ERROR(fn(kind, id, held));
    }
  }
  return Status::Ok();
}

Result<uint64_t> LinkObjects(Db& db, int64_t repo_id, const std::vector<NewObject>& objects) {
  // A row recorded before depths were gets its depth now.
  ASSIGN_OR_RETURN(Stmt obj, db.Prepare("INSERT INTO objects (id, kind, size, content_size, depth) "
                                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id, kind) DO UPDATE "
                                        "SET depth = excluded.depth WHERE depth IS NULL"));
  ASSIGN_OR_RETURN(Stmt link, db.Prepare("INSERT OR IGNORE INTO repo_objects (repo_id, kind, "
                                         "object_id) VALUES (?, ?, ?)"));
  uint64_t added = 0;
  for (const NewObject& o : objects) {
    std::string hex = o.id.hex();
    obj.Reset();
    obj.Bind(1, hex).Bind(2, KindName(o.kind));
    obj.Bind(3, static_cast<int64_t>(o.sizes.size))
        .Bind(4, static_cast<int64_t>(o.sizes.content_size))
        .Bind(5, static_cast<int64_t>(o.sizes.depth.value_or(0)));
    RETURN_IF_ERROR(obj.Run());
    link.Reset();
    RETURN_IF_ERROR(link.Bind(1, repo_id).Bind(2, KindName(o.kind)).Bind(3, hex).Run());
    added += static_cast<uint64_t>(db.Changes());
  }
  return added;
}

Result<ObjectId> ParseObjectId(std::string_view text) {
  std::optional<ObjectId> id = ObjectId::FromHex(text);
  if (!id)
    return Invalid(Quote(text.substr(0, 80)) + " is not an object ID (64 lowercase hex digits)");
  return *id;
}

}  // namespace converge
