// `converge serve --fsck --repair`: what it can do without the lost bytes.
//
// A damaged object cannot be rebuilt here; only a client that has it can send
// it again. What the repair can do is make the data dir say the truth, so that
// the next upload restores it: the damaged file goes aside (kept, not
// deleted), and each repo stops claiming what it cannot serve whole. The
// server assumes that a repo holding an object holds everything under it (a
// client's upload walk stops at the first object the repo holds), so the
// claim goes from the damaged object up through everything naming it; the
// next publish of a snap above it then finds all of those missing and uploads
// them, with the object itself.
#include <map>
#include <memory>
#include <vector>

#include "base/text.h"
#include "server/audit.h"
#include "server/audit_key.h"
#include "server/authority_id.h"
#include "server/data_dir.h"
#include "server/fsck_repair.h"
#include "server/node_lock.h"
#include "store/db.h"
#include "store/object_records.h"
#include "store/object_refs.h"
#include "store/pack_dir.h"
#include "store/records/registry.h"

namespace converge {

namespace {

using RepairKey = DataDirDamage::Key;
constexpr uint64_t kMaxRepairMetadataBytes = 256u << 20;
constexpr size_t kIdsNamedInAuditRow = 20;

std::string DescribeKeys(const std::set<RepairKey>& keys) {
  std::string out;
  size_t n = 0;
  for (const auto& [kind, id] : keys) {
    if (n++ == kIdsNamedInAuditRow) return out + ", ...";
    out += (out.empty() ? "" : ", ") + Describe(kind, id);
  }
  return out;
}

// One repo's claims to drop: what is broken itself, then everything naming it.
struct RepoDrop {
  int64_t id = 0;
  std::string name;
  std::set<RepairKey> broken, dropped;
};

// Fills `r.dropped`: r.broken and, transitively, every held object naming one.
Status CloseUpwards(Db& db, const ObjectStore& store, const DataDirDamage& damage, RepoDrop& r) {
  std::vector<RepairKey> held;
  RETURN_IF_ERROR(ObjectRecords(db).ForEachHeld(r.id, [&](const ObjectRow& row) {
    if (!row.kind || !row.id) return Status::Ok();
    RepairKey key{*row.kind, *row.id};
    if (damage.files.count(*row.id) || damage.rows.count(key)) r.broken.insert(key);
    held.push_back(key);
    return Status::Ok();
  }));
  auto more = damage.held.find(r.id);
  if (more != damage.held.end()) r.broken.insert(more->second.begin(), more->second.end());
  if (r.broken.empty()) return Status::Ok();
  // Who names whom, among the objects the repo holds.
  std::map<RepairKey, std::vector<RepairKey>> named_by;
  for (const RepairKey& k : held) {
    if (k.first == ObjectKind::kBlob || r.broken.count(k)) continue;
    Result<std::string> bytes = store.Read(k.second, kMaxRepairMetadataBytes);
    Result<std::vector<ObjectRef>> refs =
        bytes.ok() ? ReferencesOf(k.first, *bytes) : Result<std::vector<ObjectRef>>(bytes.status());
    if (!refs.ok()) {
      r.broken.insert(k);  // unreadable now: it cannot be served either
      continue;
    }
    for (const ObjectRef& ref : *refs) named_by[{ref.kind, ref.id}].push_back(k);
  }
  std::vector<RepairKey> todo(r.broken.begin(), r.broken.end());
  r.dropped.insert(todo.begin(), todo.end());
  while (!todo.empty()) {
    RepairKey k = todo.back();
    todo.pop_back();
    auto it = named_by.find(k);
    if (it == named_by.end()) continue;
    for (const RepairKey& parent : it->second)
      if (r.dropped.insert(parent).second) todo.push_back(parent);
  }
  return Status::Ok();
}

AuditRecord RepairRecord(std::string repo, std::string detail) {
  AuditRecord a;
  a.actor = "server";
  a.action = "object.repair";
  a.repo = std::move(repo);
  a.detail = std::move(detail);
  return a;
}

// Drops the claims and objects rows, with their audit rows, in one transaction.
Status DropRecords(Db& db, const std::vector<RepoDrop>& drops, const DataDirDamage& damage,
                   const fs::path& aside, FsckReport& report) {
  ASSIGN_OR_RETURN(Db::Tx tx, db.BeginWrite());
  ObjectRecords records(db);
  for (const RepoDrop& r : drops) {
    for (const auto& [kind, id] : r.dropped) RETURN_IF_ERROR(records.Unlink(r.id, kind, id));
    std::string what = "dropped the records of " + std::to_string(r.dropped.size()) +
                       " objects of repo " + Quote(r.name) +
                       " that it could not serve whole: " + DescribeKeys(r.broken) +
                       " (damaged, missing, or naming what the repo lacks) and the " +
                       std::to_string(r.dropped.size() - r.broken.size()) + " objects above them";
    RETURN_IF_ERROR(AppendAudit(db, RepairRecord(r.name, what + "; the next upload of them "
                                                                "stores them again")));
    report.fixed.push_back(what + ": the next publish of a snap holding them uploads them again");
  }
  // An objects row no repo refers to any more, whose file is not there intact.
  for (const auto& [kind, id] : damage.rows) RETURN_IF_ERROR(records.DropIfUnheld(kind, id));
  if (!damage.files.empty()) {
    std::string ids;
    size_t n = 0;
    for (const ObjectId& id : damage.files)
      if (n++ < kIdsNamedInAuditRow) ids += (ids.empty() ? "" : ", ") + id.hex();
    if (n > kIdsNamedInAuditRow) ids += ", ...";
    RETURN_IF_ERROR(AppendAudit(
        db, RepairRecord("", "moved " + std::to_string(damage.files.size()) +
                                 " damaged objects aside to " + aside.string() + ": " + ids)));
  }
  return tx.Commit();
}

// Sets every damaged copy of these objects aside (never over another file
// there): a loose file moves, a packed copy's bytes are copied and the copy
// quarantined (store/cas.h, SetAsideDamaged).
Status MoveAside(const ObjectStore& store, const std::unordered_set<ObjectId>& ids,
                 const fs::path& aside, FsckReport& report) {
  for (const ObjectId& id : ids) {
    ASSIGN_OR_RETURN(std::vector<std::string> done, store.SetAsideDamaged(id, aside));
    report.fixed.insert(report.fixed.end(), done.begin(), done.end());
  }
  return Status::Ok();
}

// Registers the data dir's audit key for the repair's rows, and forgets it.
class SignerScope {
 public:
  explicit SignerScope(std::string db_source) : db_path_(std::move(db_source)) {}
  SignerScope(const SignerScope&) = delete;
  SignerScope& operator=(const SignerScope&) = delete;
  ~SignerScope() { UnregisterAuditSigner(db_path_); }

 private:
  std::string db_path_;
};

}  // namespace

Result<FsckReport> RepairDataDir(const fs::path& dir, const std::string& db_setting) {
  std::error_code ec;
  ServerDb where = ServerDb::For(dir, db_setting);
  if (!where.postgres() && !fs::exists(where.sqlite, ec))
    return CheckDataDir(dir).status();  // names what is wrong with `dir`
  RETURN_IF_ERROR(RefuseMovedMetadata(dir, where.postgres()));
  // The data dir's lock, alone: no node uploads while records and files change.
  Result<DataDir> opened = DataDir::Open(dir);
  if (!opened.ok() && opened.status().code() == Code::kConflict)
    return Conflict("'converge serve --fsck --repair' needs the data dir to itself: " +
                    opened.status().message() +
                    "; then run the repair again ('converge serve --fsck' without --repair "
                    "checks beside running servers)");
  if (!opened.ok()) return opened.status();
  DataDir data = std::move(*opened);
  // And on PostgreSQL the database's node lock, alone: nodes of this
  // authority on other hosts hold it even where DATA/lock does not reach
  // them (server/node_lock.h). Held until the repair returns.
  std::unique_ptr<NodeLock> nodes;
  if (where.postgres()) {
    ASSIGN_OR_RETURN(Db check, where.OpenForCheck());
    RETURN_IF_ERROR(CheckSameAuthority(data.path(), check, where.Describe()));
    ASSIGN_OR_RETURN(std::string id, DatabaseAuthorityId(check));
    ASSIGN_OR_RETURN(nodes, NodeLock::ForRepair(where.postgres_url, id, where.Describe()));
  }
  // And the store's repack lock: `gc --data-dir` runs beside nodes, so
  // neither lock above keeps it out, and it rewrites the packs and the
  // quarantine list the repair changes.
  Result<Fd> repacking = TakeRepackLock(data.path());
  if (!repacking.ok())
    return Status(repacking.status().code(),
                  "'converge serve --fsck --repair' needs the data dir to itself: " +
                      repacking.status().message());
  DataDirDamage damage;
  ASSIGN_OR_RETURN(FsckReport found, CheckDataDir(data.path(), db_setting, &damage));
  if (damage.empty()) return found;

  ASSIGN_OR_RETURN(Db db, where.Open());

  Result<AuditKey> loaded = AuditKey::Load(data.path());
  if (!loaded.ok())
    return loaded.status().With(
        "the repair records what it does in the audit log, signed with "
        "the data dir's audit key");
  auto key = std::make_shared<const AuditKey>(std::move(*loaded));
  RETURN_IF_ERROR(AdoptAuditKey(db, *key).status());
  RegisterAuditSigner(db.source(), key);
  SignerScope signer(db.source());

  std::vector<RepoDrop> drops;
  {
    ASSIGN_OR_RETURN(std::vector<RepoRow> repos, RepoRecords(db).ListIds());
    for (const RepoRow& repo : repos) {
      RepoDrop r{repo.id, repo.name, {}, {}};
      RETURN_IF_ERROR(CloseUpwards(db, data.store(), damage, r));
      if (!r.dropped.empty()) drops.push_back(std::move(r));
    }
  }
  // Records first: killed after this, the damaged files are still in place,
  // where a correct upload replaces them and a second repair moves them.
  fs::path aside = data.path() / "damaged";
  FsckReport done;
  RETURN_IF_ERROR(DropRecords(db, drops, damage, aside, done));
  RETURN_IF_ERROR(MoveAside(data.store(), damage.files, aside, done));
  RETURN_IF_ERROR(MoveAside(data.store(), damage.shadowed, aside, done));

  ASSIGN_OR_RETURN(FsckReport after, CheckDataDir(data.path(), db_setting));
  after.fixed = std::move(done.fixed);
  return after;
}

}  // namespace converge
