#include "server/gc.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <vector>

#include "base/text.h"
#include "server/audit.h"
#include "server/audit_key.h"
#include "server/audit_verify.h"
#include "server/data_dir.h"
#include "server/db_pool.h"
#include "store/object_records.h"
#include "store/publication_records.h"
#include "store/records/registry.h"

namespace converge {

namespace {

enum class DirHolders { kNone, kShared, kExclusive };

// How servers on this host hold DATA/lock now: a SQLite server alone
// (exclusive), nodes on PostgreSQL shared. The probe holds it for an instant.
DirHolders ProbeDataDirLock(const fs::path& dir) {
  int fd = ::open((dir / "lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return DirHolders::kNone;
  Fd owner(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
    return DirHolders::kNone;
  }
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
    return DirHolders::kShared;
  }
  return DirHolders::kExclusive;
}

Status RefuseRow(const std::string& what) {
  return Corrupt(what +
                 ": gc cannot tell what it names and removes nothing; run 'converge serve "
                 "--fsck' on the data dir");
}

// The database is this data dir's: its audit head is signed by the data
// dir's key. A wrong --db, or an empty database, would make every object
// look unreferenced.
Status CheckDatabaseIsTheDataDirs(Db& db, const ServerDb& where, const fs::path& dir) {
  ASSIGN_OR_RETURN(AuditPublicKey key, DataDirAuditKey(dir));
  ASSIGN_OR_RETURN(std::optional<wire::AuditHead> head, ReadHead(db));
  std::string what = "database " + where.Describe();
  if (!head)
    return Conflict(what + " has no signed audit head, so nothing shows it is the database of " +
                    Quote(dir.string()) + "; gc removes nothing: pass the --db its servers use");
  std::optional<AuditPublicKey> signer = AuditPublicKey::FromHex(head->public_key);
  if (!signer || !(*signer == key))
    return Conflict(what + "'s audit log is signed by " +
                    (signer ? signer->Fingerprint() : std::string("an unreadable key")) +
                    ", but the data dir's audit key is " + key.Fingerprint() +
                    ": it is not this data dir's database; gc removes nothing: pass the --db "
                    "its servers use");
  return Status::Ok();
}

// The rows that keep objects, read in one transaction.
Status ReadRecordedRoots(Db& db, LiveSet& live, std::vector<ObjectId>& snaps,
                         DataDirGcReport& report) {
  ASSIGN_OR_RETURN(Db::Tx read, db.BeginRead());
  RETURN_IF_ERROR(ObjectRecords(db).ForEachObject([&](const ObjectRow& row) {
    if (!row.id) return RefuseRow("objects row " + Quote(row.kind_text + " " + row.id_text));
    live.Add(*row.id);
    report.object_rows++;
    return Status::Ok();
  }));
  ASSIGN_OR_RETURN(std::vector<RepoRow> repos, RepoRecords(db).ListIds());
  for (const RepoRow& repo : repos) {
    report.repos++;
    RETURN_IF_ERROR(ObjectRecords(db).ForEachHeld(repo.id, [&](const ObjectRow& row) {
      if (!row.id)
        return RefuseRow("repo " + Quote(repo.name) + " holds " +
                         Quote(row.kind_text + " " + row.id_text));
      live.Add(*row.id);
      report.held_rows++;
      return Status::Ok();
    }));
  }
  return PublicationRecords(db).ForEach([&](int64_t, const PublicationRow& row) {
    std::optional<ObjectId> snap = ObjectId::FromHex(row.publication.snap);
    if (!snap)
      return RefuseRow("publication " + row.publication.id + " names snap " +
                       Quote(row.publication.snap));
    snaps.push_back(*snap);
    report.publications++;
    return Status::Ok();
  });
}

}  // namespace

Result<DataDirGcReport> CollectDataDirGarbage(const fs::path& dir, const std::string& db_setting,
                                              int64_t grace_seconds, bool dry_run, bool all) {
  std::error_code ec;
  if (!fs::exists(dir / "converge.db", ec) && !fs::exists(AuditKey::SecretPath(dir), ec))
    return NotFound(Quote(dir.string()) +
                    " is not a converge data dir (it has neither converge.db nor audit-key): "
                    "pass the server's --data-dir");
  ServerDb where = ServerDb::For(dir, db_setting);
  RETURN_IF_ERROR(RefuseMovedMetadata(dir, where.postgres()));
  DirHolders holders = ProbeDataDirLock(dir);
  if (!where.postgres() && holders == DirHolders::kShared)
    return Conflict("the servers running on " + Quote(dir.string()) +
                    " share it: they keep their metadata in PostgreSQL, not in its converge.db; "
                    "gc removes nothing: pass the --db they use (or set CONVERGE_DB)");
  if (holders != DirHolders::kNone && grace_seconds < kMinGraceBesideServer)
    return Invalid("a server is running on " + Quote(dir.string()) + ": a grace period under " +
                   std::to_string(kMinGraceBesideServer / 60) +
                   " minutes could remove the objects of an upload whose records are not "
                   "committed yet; give --grace 10m or more, or stop the server");
  GcOptions options;
  options.cutoff = GcCutoff(grace_seconds);  // before the rows are read
  options.dry_run = dry_run;
  options.rewrite_all = all;
  ASSIGN_OR_RETURN(Db db, where.OpenForCheck());
  RETURN_IF_ERROR(CheckDatabaseIsTheDataDirs(db, where, dir));
  ASSIGN_OR_RETURN(ObjectStore store, ObjectStore::Open(dir));
  DataDirGcReport report;
  LiveSet live;
  std::vector<ObjectId> snaps;
  RETURN_IF_ERROR(ReadRecordedRoots(db, live, snaps, report));
  LiveWalk walk(store, live);
  for (const ObjectId& s : snaps)
    RETURN_IF_ERROR(
        walk.Add(ObjectKind::kSnap, s, "a publication's snap " + s.hex().substr(0, 12)));
  live.Seal();
  ASSIGN_OR_RETURN(report.stats, CollectGarbage(store, live, options));
  return report;
}

}  // namespace converge
