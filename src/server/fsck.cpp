#include "server/fsck.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <map>

#include "api/wire.h"
#include "base/text.h"
#include "server/audit_verify.h"
#include "server/authority_id.h"
#include "server/data_dir.h"
#include "server/db_pool.h"
#include "server/object_check.h"
#include "server/publications.h"
#include "store/db.h"
#include "store/object_records.h"
#include "store/publication_records.h"
#include "store/records/registry.h"

namespace converge {

namespace {

constexpr uint64_t kMaxHeldMetadataBytes = 256u << 20;
// While a server runs, a temp file younger than this may be an upload in progress.
constexpr int64_t kRunningTempAge = 3600;

// Whether a server holds the data dir's lock right now. The probe holds a
// shared lock for an instant only.
bool ServerRunning(const fs::path& dir) {
  int fd = ::open((dir / "lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Fd owner(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    return errno == EWOULDBLOCK;  // any node, alone or shared
  ::flock(fd, LOCK_UN);
  return false;
}

using HeldMap = std::map<std::pair<ObjectKind, ObjectId>, HeldObject>;

class DataDirCheck {
 public:
  DataDirCheck(const fs::path& dir, Db& db, const ObjectStore& store, FsckReport& report,
               DataDirDamage& damage)
      : dir_(dir), db_(db), store_(store), report_(report), damage_(damage) {}

  Status Run() {
    ASSIGN_OR_RETURN(census_, TakeCensus(store_, report_));
    damage_.files = census_.damaged;
    damage_.shadowed = census_.shadowed;
    RETURN_IF_ERROR(CheckObjectRows());
    RETURN_IF_ERROR(CheckRepos());
    RETURN_IF_ERROR(CheckPublications());
    return CheckAuditChain();
  }

 private:
  // Every row's file is there with the recorded size.
  Status CheckObjectRows() {
    return ObjectRecords(db_).ForEachObject([&](const ObjectRow& row) {
      CheckObjectRow(row);
      return Status::Ok();
    });
  }

  void CheckObjectRow(const ObjectRow& row) {
    std::string subject = row.kind_text + " " + row.id_text;
    if (!row.id || !row.kind) {
      report_.Error("objects row " + Quote(subject), "malformed ID or kind");
      return;
    }
    DataDirDamage::Key key{*row.kind, *row.id};
    if (census_.damaged.count(*row.id)) {  // reported by the census
      damage_.rows.insert(key);
      return;
    }
    uint64_t size = row.sizes->size, content = row.sizes->content_size;
    std::optional<uint64_t> on_disk = census_.SizeOf(store_, *row.id);
    if (!on_disk)
      report_.Error(subject, "recorded as stored, but the store has no copy of it (neither " +
                                 store_.PathOf(*row.id).string() + " nor a pack)");
    else if (*on_disk != size)
      report_.Error(subject, "recorded as " + std::to_string(size) + " bytes, but its file " +
                                 "holds " + std::to_string(*on_disk));
    else if (*row.kind == ObjectKind::kBlob && content != size)
      report_.Error(subject, "recorded with a content size of " + std::to_string(content) +
                                 " bytes, but a blob's is its size, " + std::to_string(size));
    else
      return;
    damage_.rows.insert(key);
  }

  Result<HeldMap> LoadHeld(int64_t repo_id, const std::string& repo) {
    HeldMap held;
    RETURN_IF_ERROR(ObjectRecords(db_).ForEachHeld(repo_id, [&](const ObjectRow& row) {
      if (!row.kind || !row.id || !row.sizes)
        report_.Error("repo " + Quote(repo),
                      "holds " + row.kind_text + " " + row.id_text + ", which has no objects row");
      else
        held[{*row.kind, *row.id}] = *row.sizes;
      return Status::Ok();
    }));
    return held;
  }

  // Every object a repo holds names only objects the repo holds: by
  // induction, every held snap's whole tree is in the repo.
  Status CheckRepos() {
    ASSIGN_OR_RETURN(std::vector<RepoRow> repos, RepoRecords(db_).ListIds());
    for (const RepoRow& repo : repos) {
      const std::string& name = repo.name;
      ASSIGN_OR_RETURN(HeldMap held, LoadHeld(repo.id, name));
      HeldLookup lookup = [&](ObjectKind k,
                              const ObjectId& id) -> Result<std::optional<HeldObject>> {
        auto it = held.find({k, id});
        if (it == held.end()) return std::optional<HeldObject>();
        return std::optional<HeldObject>(it->second);
      };
      for (const auto& [key, sizes] : held) {
        const auto& [kind, id] = key;
        if (kind == ObjectKind::kBlob || census_.damaged.count(id)) continue;
        Result<std::string> bytes = store_.Read(id, kMaxHeldMetadataBytes);
        if (!bytes.ok()) continue;  // the object rows check reported it
        uint64_t depth = 0;
        Result<uint64_t> content = CheckObject(kind, id, *bytes, lookup, &depth);
        if (!content.ok())
          report_.Error(Describe(kind, id),
                        "in repo " + Quote(name) + ": " + content.status().message());
        else if (*content != sizes.content_size)
          report_.Error(Describe(kind, id), "recorded with a content size of " +
                                                std::to_string(sizes.content_size) +
                                                " bytes, but it holds " + std::to_string(*content));
        else if (sizes.depth != depth)
          report_.Error(Describe(kind, id),
                        "recorded with a tree depth of " +
                            (sizes.depth ? std::to_string(*sizes.depth) : std::string("none")) +
                            ", but its tree is " + std::to_string(depth) + " deep");
        if (content.ok() && *content == sizes.content_size)
          continue;  // bytes intact (a wrong recorded depth is not damage to set aside)
        damage_.held[repo.id].insert(key);
      }
    }
    return Status::Ok();
  }

  Status CheckPublications() {
    std::map<int64_t, std::string> repo_names;
    {
      ASSIGN_OR_RETURN(std::vector<RepoRow> repos, RepoRecords(db_).ListIds());
      for (RepoRow& r : repos) repo_names[r.id] = std::move(r.name);
    }
    return PublicationRecords(db_).ForEach([&](int64_t repo_id, const PublicationRow& row) {
      auto repo = repo_names.find(repo_id);
      wire::Publication p = row.publication;
      std::string subject = "publication " + p.id;
      if (repo == repo_names.end()) {
        report_.Error(subject,
                      "belongs to repo #" + std::to_string(repo_id) + ", which does not exist");
        return Status::Ok();
      }
      p.repo = repo->second;
      if (!wire::VerifyPublicationId(p).ok())
        report_.Error(subject, "its ID does not match its content: the record was altered");
      std::optional<ObjectId> snap = ObjectId::FromHex(p.snap);
      std::optional<HeldObject> held;
      if (snap) {
        ASSIGN_OR_RETURN(held, RepoHolds(db_, repo_id, ObjectKind::kSnap, *snap));
      }
      if (!held)
        report_.Error(subject,
                      "names snap " + p.snap + ", which repo " + Quote(p.repo) + " does not hold");
      return Status::Ok();
    });
  }

  // The audit log, by the same checks as `serve --verify-audit`
  // (server/audit_verify.h), against the data dir's own key (the data dir,
  // not the database's file's folder: on PostgreSQL there is no file).
  Status CheckAuditChain() {
    Result<AuditPublicKey> key = DataDirAuditKey(dir_);
    if (!key.ok()) {
      report_.Error("audit log", key.status().message());
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(AuditVerdict verdict, VerifyAuditLog(db_, *key));
    for (const AuditProblem& p : verdict.problems) report_.Error("audit log", p.message);
    if (int64_t more = verdict.problem_count - static_cast<int64_t>(verdict.problems.size());
        more > 0)
      report_.Error("audit log", std::to_string(more) + " more problems after these");
    return Status::Ok();
  }

  const fs::path& dir_;
  Db& db_;
  const ObjectStore& store_;
  FsckReport& report_;
  DataDirDamage& damage_;
  ObjectCensus census_;
};

}  // namespace

Result<FsckReport> CheckDataDir(const fs::path& dir, const std::string& db_setting,
                                DataDirDamage* damage) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return NotFound("no data dir at " + Quote(dir.string()) + ": pass the server's --data-dir");
  ServerDb where = ServerDb::For(dir, db_setting);
  if (!where.postgres() && !fs::exists(where.sqlite, ec))
    return NotFound(Quote(dir.string()) + " is not a converge data dir (it has no converge.db)");
  RETURN_IF_ERROR(RefuseMovedMetadata(dir, where.postgres()));
  ASSIGN_OR_RETURN(Db db, where.OpenForCheck());
  // Another authority's database would make every finding below noise.
  RETURN_IF_ERROR(CheckSameAuthority(dir, db, where.Describe()));
  ASSIGN_OR_RETURN(ObjectStore store, ObjectStore::Open(dir));
  FsckReport report;
  // The snapshot starts here: every object row in it had its object made
  // durable and visible (a loose file, or a pack's index) before it
  // committed, so a listing afterwards includes them all.
  {
    ASSIGN_OR_RETURN(Db::Tx read, db.BeginRead());  // ends (rolled back) with this block
    RETURN_IF_ERROR(ObjectRecords(db).Count().status());
    DataDirDamage found;
    DataDirCheck check(dir, db, store, report, damage ? *damage : found);
    RETURN_IF_ERROR(check.Run());
  }

  bool running = ServerRunning(dir);
  ASSIGN_OR_RETURN(std::vector<TempFile> temps, store.ListTemps());
  if (running)
    std::erase_if(temps, [](const TempFile& t) { return t.age_seconds < kRunningTempAge; });
  // Nodes sharing the data dir (PostgreSQL) remove at start only the temps
  // no other node can still be writing (DataDir::kSharedTempAge).
  CheckTemps(temps, false, 0,
             where.postgres() ? "a node starting on this data dir removes it once it was last "
                                "written over an hour ago"
                              : "the server removes it when it next starts",
             report);
  return report;
}

}  // namespace converge
