#include "server/authority_id.h"

#include <unistd.h>

#include <cerrno>

#include "base/hex.h"
#include "base/random.h"
#include "base/text.h"
#include "store/object_records.h"
#include "store/records/audit.h"
#include "store/records/authority.h"

namespace converge {

namespace {

bool LooksLikeAuthorityId(std::string_view id) {
  return id.size() >= 32 && id.size() <= 128 && IsLowerHex(id);
}

// DATA/authority-id's ID, or nullopt when there is none.
Result<std::optional<std::string>> ReadDataDirId(const fs::path& data_dir) {
  fs::path path = AuthorityIdPath(data_dir);
  Result<std::string> text = ReadFile(path);
  if (!text.ok() && text.status().code() == Code::kNotFound) return std::optional<std::string>();
  if (!text.ok()) return text.status();
  std::string id(TrimSpace(*text));
  if (!LooksLikeAuthorityId(id))
    return Corrupt("the authority ID file " + Quote(path.string()) +
                   " is damaged: restore it from a backup of the data dir (or remove it, and "
                   "the next start records the database's ID there)");
  return std::optional<std::string>(id);
}

Status Mismatch(const fs::path& data_dir, const std::string& dir_id, const std::string& db_desc,
                const std::string& db_id) {
  return Conflict("data dir " + Quote(data_dir.string()) + " and database " + db_desc +
                  " belong to different authorities: the data dir's is " + dir_id + " (in " +
                  AuthorityIdPath(data_dir).string() + "), the database's " + db_id +
                  ". Give every node the database this data dir was started with (or the data "
                  "dir this database was started with); if one of them was restored from a "
                  "backup, restore the other from the same backup (docs/server.md, \"Backups\")");
}

// Whether the store holds no object at all (no loose file, no pack).
bool StoreEmpty(const ObjectStore& store) {
  return store.ForEach([](const ObjectId&) { return Internal("found one"); }).ok();
}

}  // namespace

Result<std::string> DatabaseAuthorityId(Db& db) {
  ASSIGN_OR_RETURN(Db::Tx tx, db.BeginWrite());
  AuthorityRecords records(db);
  ASSIGN_OR_RETURN(std::optional<std::string> id, records.Id());
  if (id) return *id;
  ASSIGN_OR_RETURN(std::optional<AuditLink> oldest, AuditRecords(db).Oldest());
  RETURN_IF_ERROR(records.SetIfUnset(oldest ? oldest->hash : RandomHex(16)));
  ASSIGN_OR_RETURN(id, records.Id());
  RETURN_IF_ERROR(tx.Commit());
  if (!id) return Internal("the database's authority ID was written but is not there");
  return *id;
}

namespace {

// Writes DATA/authority-id unless it is there; the ID that stands.
Result<std::string> RecordDataDirId(const fs::path& data_dir, const std::string& id) {
  fs::path path = AuthorityIdPath(data_dir);
  fs::path mine = path;
  mine += ".new-" + RandomHex(8);
  RETURN_IF_ERROR(WriteFileAtomic(mine, id + "\n", 0644));
  int err = ::link(mine.c_str(), path.c_str()) == 0 ? 0 : errno;
  ::unlink(mine.c_str());
  if (err == EEXIST) {  // another node recorded it first
    ASSIGN_OR_RETURN(std::optional<std::string> theirs, ReadDataDirId(data_dir));
    if (theirs) return *theirs;
  }
  if (err != 0) return ErrnoStatus("link " + Quote(path.string()), err);
  RETURN_IF_ERROR(FsyncDir(data_dir));
  return id;
}

}  // namespace

fs::path AuthorityIdPath(const fs::path& data_dir) {
  return data_dir / "authority-id";
}

Result<std::string> BindAuthority(const fs::path& data_dir, const ObjectStore& store, Db& db,
                                  const std::string& db_description) {
  ASSIGN_OR_RETURN(std::string db_id, DatabaseAuthorityId(db));
  ASSIGN_OR_RETURN(std::optional<std::string> dir_id, ReadDataDirId(data_dir));
  if (!dir_id) {
    ASSIGN_OR_RETURN(uint64_t objects, ObjectRecords(db).Count());
    if (objects > 0 && StoreEmpty(store))
      return Conflict("data dir " + Quote(data_dir.string()) + " holds no object, but database " +
                      db_description + " (authority " + db_id + ") records " +
                      std::to_string(objects) +
                      " stored objects: give every node the data dir this database was started "
                      "with (nodes share one, on a filesystem they all mount)");
    ASSIGN_OR_RETURN(dir_id, RecordDataDirId(data_dir, db_id));
  }
  if (*dir_id != db_id) return Mismatch(data_dir, *dir_id, db_description, db_id);
  return db_id;
}

Status CheckSameAuthority(const fs::path& data_dir, Db& db, const std::string& db_description) {
  ASSIGN_OR_RETURN(std::optional<std::string> db_id, AuthorityRecords(db).Id());
  ASSIGN_OR_RETURN(std::optional<std::string> dir_id, ReadDataDirId(data_dir));
  if (db_id && dir_id && *db_id != *dir_id)
    return Mismatch(data_dir, *dir_id, db_description, *db_id);
  return Status::Ok();
}

}  // namespace converge
